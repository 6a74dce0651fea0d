#include "channels/tao_request_handler.h"

#include <openssl/crypto.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

// The policy a request names by leaving it empty (docs/channel-protocol.md).
constexpr absl::string_view kDefaultSealPolicy = "SameProgram";

std::string PolicyOrDefault(absl::string_view policy) {
  return policy.empty() ? std::string(kDefaultSealPolicy) : std::string(policy);
}

// A hosted program that was refused learns what was refused and why, not
// which other rules the domain has (the audit trail records all of it).
absl::Status Denied(const Decision& decision) {
  return absl::PermissionDeniedError(decision.ForCaller());
}

absl::Status FrameTooLarge(size_t size, size_t cap) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "the response of ", size, " bytes would exceed the frame cap of ", cap));
}

void Wipe(std::string* s) { OPENSSL_cleanse(s->data(), s->size()); }

// The view HandleBulk takes of a parsed Seal or Unseal request.
BulkRequestView BulkView(const TaoRequest& request) {
  BulkRequestView view;
  view.id = request.id();
  if (request.has_seal()) {
    view.kind = BulkRequestView::Kind::kSeal;
    view.data = request.seal().data();
    view.policy = request.seal().policy();
  } else {
    view.kind = BulkRequestView::Kind::kUnseal;
    view.data = request.unseal().bundle();
  }
  return view;
}

bool IsBulk(const TaoRequest& request) {
  return request.has_seal() || request.has_unseal();
}

}  // namespace

absl::StatusOr<TaoRequestHandler::Answered> TaoRequestHandler::AnswerFrame(
    absl::string_view frame, Principal* name, size_t max_frame_size,
    std::string* out) const {
  Answered answered;
  // Seal and Unseal in their usual encoding: answered without copying the
  // data through protobuf messages.
  if (std::optional<BulkRequestView> bulk = ParseBulkRequest(frame)) {
    const bool seal = bulk->kind == BulkRequestView::Kind::kSeal;
    answered.code = HandleBulk(*bulk, *name, max_frame_size, out);
    answered.response_holds_secret =
        !seal && answered.code == absl::StatusCode::kOk;
    answered.request_held_secret = seal;
    return answered;
  }
  TaoRequest request;
  if (!request.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    return absl::InvalidArgumentError(
        "a frame that does not parse as a TaoRequest");
  }
  // Any other encoding of Seal or Unseal takes the same path.
  if (IsBulk(request)) {
    const bool seal = request.has_seal();
    answered.code = HandleBulk(BulkView(request), *name, max_frame_size, out);
    answered.response_holds_secret =
        !seal && answered.code == absl::StatusCode::kOk;
    answered.request_held_secret = seal;
    if (seal) Wipe(request.mutable_seal()->mutable_data());
    return answered;
  }
  TaoResponse response = Handle(request, name, max_frame_size);
  answered.code = static_cast<absl::StatusCode>(response.code());
  absl::Status framed = AppendFrame(response, max_frame_size, out);
  if (!framed.ok()) {
    TaoResponse too_big;
    too_big.set_id(request.id());
    too_big.set_code(
        static_cast<int32_t>(absl::StatusCode::kResourceExhausted));
    too_big.set_message(std::string(framed.message()));
    auto unused = AppendFrame(too_big, max_frame_size, out);
    (void)unused;
    answered.code = absl::StatusCode::kResourceExhausted;
  }
  // A shared secret was copied into the frame; wipe the response's copy.
  if (request.has_get_shared_secret() && response.has_data()) {
    Wipe(response.mutable_data());
    answered.response_holds_secret = framed.ok();
  }
  return answered;
}

TaoResponse TaoRequestHandler::Handle(const TaoRequest& request,
                                      Principal* name,
                                      size_t max_frame_size) const {
  TaoResponse response;
  if (IsBulk(request)) {
    std::string out;
    HandleBulk(BulkView(request), *name, max_frame_size, &out);
    const bool parsed = response.ParseFromArray(
        out.data() + kFrameHeaderSize,
        static_cast<int>(out.size() - kFrameHeaderSize));
    Wipe(&out);
    if (parsed) return response;
    response.Clear();
    response.set_id(request.id());
    response.set_code(static_cast<int32_t>(absl::StatusCode::kInternal));
    response.set_message("the copy-free answer does not parse");
    return response;
  }
  response.set_id(request.id());
  absl::Status status = absl::OkStatus();
  switch (request.args_case()) {
    case TaoRequest::kGetTaoName:
      response.set_name(name->text());
      break;
    case TaoRequest::kExtendTaoName:
      status = ExtendName(request.extend_tao_name(), name);
      break;
    case TaoRequest::kGetRandomBytes: {
      auto bytes = host_.GetRandomBytes(request.get_random_bytes().size());
      if (bytes.ok()) {
        response.set_data(*std::move(bytes));
      } else {
        status = bytes.status();
      }
      break;
    }
    case TaoRequest::kGetSharedSecret:
      status = SharedSecret(request.get_shared_secret(), *name, &response);
      break;
    case TaoRequest::kAttest: {
      auto allowed = domain_.AuthorizeAttest(*name, request.attest());
      if (!allowed.ok()) {
        status = allowed.status();
        break;
      }
      if (!allowed->allowed) {
        status = Denied(*allowed);
        break;
      }
      auto attestation = host_.Attest(*name, request.attest());
      if (attestation.ok()) {
        *response.mutable_attestation() = *std::move(attestation);
      } else {
        status = attestation.status();
      }
      break;
    }
    case TaoRequest::kSeal:
    case TaoRequest::kUnseal:
      break;  // answered above
    case TaoRequest::ARGS_NOT_SET:
      status = absl::InvalidArgumentError("a request without a method");
      break;
  }
  if (!status.ok()) {
    response.clear_result();
    response.set_code(static_cast<int32_t>(status.code()));
    response.set_message(std::string(status.message()));
  }
  return response;
}

absl::Status TaoRequestHandler::ExtendName(const ExtendTaoNameArgs& args,
                                           Principal* name) const {
  TAO_ASSIGN_OR_RETURN(Subprincipal sub,
                       Subprincipal::Parse(args.subprincipal()));
  if (sub.kind() != "Ext") {
    return absl::InvalidArgumentError(absl::StrCat(
        "only Ext(...) may be added to a name, not ", sub.kind(),
        "(...): measurements and publishers are the host's to assign"));
  }
  TAO_ASSIGN_OR_RETURN(Principal extended, name->Extend(sub));
  *name = std::move(extended);
  return absl::OkStatus();
}

absl::Status TaoRequestHandler::SharedSecret(const GetSharedSecretArgs& args,
                                             const Principal& name,
                                             TaoResponse* response) const {
  TAO_ASSIGN_OR_RETURN(SharedSecretDecision answer,
                       domain_.AuthorizeSharedSecret(
                           name, PolicyOrDefault(args.policy()), host_.name()));
  if (!answer.decision.allowed) return Denied(answer.decision);
  TAO_ASSIGN_OR_RETURN(SecretString secret,
                       host_.DeriveSecret(answer.context, args.size()));
  response->set_data(secret.data(), secret.size());
  return absl::OkStatus();
}

absl::StatusCode TaoRequestHandler::HandleBulk(const BulkRequestView& request,
                                               const Principal& name,
                                               size_t max_frame_size,
                                               std::string* out) const {
  const size_t start = out->size();
  absl::Status status = request.kind == BulkRequestView::Kind::kSeal
                            ? SealInto(request, name, max_frame_size, out)
                            : UnsealInto(request, name, max_frame_size, out);
  if (status.ok()) return absl::StatusCode::kOk;
  out->resize(start);
  TaoResponse error;
  error.set_id(request.id);
  error.set_code(static_cast<int32_t>(status.code()));
  error.set_message(std::string(status.message()));
  auto framed = AppendFrame(error, max_frame_size, out);
  (void)framed;  // an error frame is far below any cap
  return status.code();
}

absl::Status TaoRequestHandler::SealInto(const BulkRequestView& request,
                                         const Principal& name,
                                         size_t max_frame_size,
                                         std::string* out) const {
  const std::string policy = PolicyOrDefault(request.policy);
  TAO_ASSIGN_OR_RETURN(Decision allowed, domain_.AuthorizeSeal(name, policy));
  if (!allowed.allowed) return Denied(allowed);
  const size_t bundle_size =
      SealedBundleSize(policy.size(), name.text().size(), request.data.size());
  const size_t frame_size = DataResponseSize(request.id, bundle_size);
  if (frame_size > max_frame_size)
    return FrameTooLarge(frame_size, max_frame_size);
  AppendDataResponseHead(request.id, bundle_size, out);
  return host_.EncryptTo(request.data, policy, name, out);
}

absl::Status TaoRequestHandler::UnsealInto(const BulkRequestView& request,
                                           const Principal& name,
                                           size_t max_frame_size,
                                           std::string* out) const {
  TAO_ASSIGN_OR_RETURN(SealedBundleView bundle,
                       ParseSealedBundle(request.data));
  const size_t data_size = bundle.ciphertext.size();
  const size_t frame_size = UnsealResponseSize(request.id, bundle.policy.size(),
                                               bundle.sealer.size(), data_size);
  if (frame_size > max_frame_size)
    return FrameTooLarge(frame_size, max_frame_size);
  // Decrypt straight into the response; the plaintext is wiped again if the
  // caller may not have it.
  AppendUnsealResponseHead(request.id, bundle.policy, bundle.sealer, data_size,
                           out);
  const size_t at = out->size();
  out->resize(at + data_size);
  TAO_ASSIGN_OR_RETURN(Principal sealer,
                       host_.DecryptInto(bundle, out->data() + at));
  absl::Status allowed = absl::OkStatus();
  if (sealer.text() != bundle.sealer) {
    allowed = absl::DataLossError(
        "sealed bundle names its sealer in a non-canonical form");
  } else {
    auto decision =
        domain_.AuthorizeUnseal(name, bundle.policy, sealer, host_.name());
    if (!decision.ok()) {
      allowed = decision.status();
    } else if (!decision->allowed) {
      allowed = Denied(*decision);
    }
  }
  if (!allowed.ok()) OPENSSL_cleanse(out->data() + at, data_size);
  return allowed;
}

}  // namespace tao
