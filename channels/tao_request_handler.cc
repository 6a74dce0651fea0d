#include "channels/tao_request_handler.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "channels/framing.h"
#include "seal_policy/codec.h"
#include "seal_policy/evaluator.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

constexpr absl::string_view kDefaultSealPolicy = "SameProgram";

// A request's policy bytes (empty: SameProgram), decoded; the bytes are
// what gets sealed and compared later.
struct RequestedPolicy {
  std::string bytes;
  SealPolicy policy;
};

absl::StatusOr<RequestedPolicy> DecodeRequestedPolicy(
    const std::string& bytes) {
  RequestedPolicy out{bytes.empty() ? std::string(kDefaultSealPolicy) : bytes,
                      {}};
  auto policy = DecodeSealPolicy(out.bytes);
  if (!policy.ok()) return policy.status();
  out.policy = *std::move(policy);
  return out;
}

bool MentionsOnlySingleKind(const SealPolicy& policy) {
  return policy.kind_case() != SealPolicy::kAllOf &&
         policy.kind_case() != SealPolicy::kAnyOf;
}

void CollectDomainLabels(const SealPolicy& policy,
                         std::vector<std::string>* labels) {
  switch (policy.kind_case()) {
    case SealPolicy::kDomainRule:
      if (std::find(labels->begin(), labels->end(),
                    policy.domain_rule().label()) == labels->end()) {
        labels->push_back(policy.domain_rule().label());
      }
      break;
    case SealPolicy::kAllOf:
      for (const auto& p : policy.all_of().policies())
        CollectDomainLabels(p, labels);
      break;
    case SealPolicy::kAnyOf:
      for (const auto& p : policy.any_of().policies())
        CollectDomainLabels(p, labels);
      break;
    default:
      break;
  }
}

absl::Status Denied(const Decision& decision) {
  return absl::PermissionDeniedError(decision.reason);
}

absl::Status FrameTooLarge(size_t size, size_t cap) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "the response of ", size, " bytes would exceed the frame cap of ", cap));
}

}  // namespace

TaoResponse TaoRequestHandler::Handle(const TaoRequest& request,
                                      Principal* name) const {
  TaoResponse response;
  response.set_id(request.id());
  const Caller caller = Caller::Program(*name);
  absl::Status status = absl::OkStatus();
  switch (request.args_case()) {
    case TaoRequest::kGetTaoName:
      response.set_name((*name).text());
      break;
    case TaoRequest::kExtendTaoName: {
      auto sub = Subprincipal::Parse(request.extend_tao_name().subprincipal());
      if (!sub.ok()) {
        status = sub.status();
      } else if (sub->kind() != "Ext") {
        status = absl::InvalidArgumentError(absl::StrCat(
            "only Ext(...) may be added to a name, not ", sub->kind(),
            "(...): measurements and publishers are the host's to assign"));
      } else {
        auto extended = (*name).Extend(*sub);
        if (extended.ok()) {
          *name = *std::move(extended);
        } else {
          status = extended.status();
        }
      }
      break;
    }
    case TaoRequest::kGetRandomBytes: {
      auto bytes = host_.GetRandomBytes(request.get_random_bytes().size());
      if (bytes.ok()) {
        response.set_data(*std::move(bytes));
      } else {
        status = bytes.status();
      }
      break;
    }
    case TaoRequest::kGetSharedSecret: {
      const GetSharedSecretArgs& args = request.get_shared_secret();
      auto requested = DecodeRequestedPolicy(args.policy());
      if (!requested.ok()) {
        status = requested.status();
        break;
      }
      const std::string& policy_bytes = requested->bytes;
      const SealPolicy* policy = &requested->policy;
      if (!MentionsOnlySingleKind(*policy)) {
        status = absl::InvalidArgumentError(
            "a shared secret takes a single-kind policy, not AllOf or AnyOf");
        break;
      }
      Decision allowed = domain_.Authorize(caller, "GetSharedSecret");
      if (allowed.allowed) {
        // Every caller the policy admits must derive the same secret, so the
        // binding is what the policy compares: the exact name for
        // SameProgram, the measured prefix for SameMeasurement, nothing more
        // for the others (whose admission is checked right here, with the
        // caller as its own sealer).
        std::string binding;
        if (policy->has_same_program()) {
          binding = (*name).text();
        } else if (policy->has_same_measurement()) {
          int mi = LastMeasurementIndex((*name));
          if (mi < 0) {
            allowed = Decision::Deny(
                "SameMeasurement: the caller has no measurement");
          } else {
            binding = (*name).RootKey().text();
            for (int i = 0; i <= mi; ++i) {
              absl::StrAppend(&binding, ".",
                              (*name).subprincipals()[i].ToString());
            }
          }
        } else {
          allowed = EvaluateSealPolicy(
              *policy,
              SealPolicyContext{(*name), (*name), host_.name(), &domain_});
          allowed = domain_.Record(caller, "GetSharedSecret", policy_bytes,
                                   std::move(allowed));
        }
        if (allowed.allowed) {
          auto secret = host_.DeriveSecret(
              absl::StrCat("shared-secret:", policy_bytes.size(), ":",
                           policy_bytes, binding),
              args.size());
          if (secret.ok()) {
            response.set_data(secret->Copy());
          } else {
            status = secret.status();
          }
        }
      }
      if (!allowed.allowed) status = Denied(allowed);
      break;
    }
    case TaoRequest::kAttest: {
      Decision allowed = domain_.Authorize(caller, "Attest");
      if (!allowed.allowed) {
        status = Denied(allowed);
        break;
      }
      auto attestation = host_.Attest((*name), request.attest());
      if (attestation.ok()) {
        *response.mutable_attestation() = *std::move(attestation);
      } else {
        status = attestation.status();
      }
      break;
    }
    case TaoRequest::kSeal: {
      const SealArgs& args = request.seal();
      auto policy_bytes = CheckSeal(caller, args.policy());
      if (!policy_bytes.ok()) {
        status = policy_bytes.status();
        break;
      }
      status = host_.EncryptTo(args.data(), *policy_bytes, *name,
                               response.mutable_data());
      break;
    }
    case TaoRequest::kUnseal: {
      auto unsealed = host_.Decrypt(request.unseal().bundle());
      if (!unsealed.ok()) {
        status = unsealed.status();
        break;
      }
      status = CheckUnseal(caller, *name, unsealed->policy, unsealed->sealer);
      if (!status.ok()) break;
      UnsealResult* result = response.mutable_unsealed();
      result->set_data(unsealed->data.data(), unsealed->data.size());
      result->set_policy(std::move(unsealed->policy));
      result->set_sealer(unsealed->sealer.text());
      break;
    }
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

absl::StatusOr<std::string> TaoRequestHandler::CheckSeal(
    const Caller& caller, const std::string& requested_policy) const {
  auto requested = DecodeRequestedPolicy(requested_policy);
  if (!requested.ok()) return requested.status();
  // May the caller seal at all, and under each DomainRule label it names?
  std::vector<std::string> labels;
  CollectDomainLabels(requested->policy, &labels);
  Decision allowed = Decision::Allow("");
  if (labels.empty()) {
    allowed = domain_.Authorize(caller, "Seal");
  } else {
    for (const std::string& label : labels) {
      allowed = domain_.Authorize(caller, "Seal", label);
      if (!allowed.allowed) break;
    }
  }
  if (!allowed.allowed) return Denied(allowed);
  return std::move(requested->bytes);
}

absl::Status TaoRequestHandler::CheckUnseal(const Caller& caller,
                                            const Principal& name,
                                            absl::string_view policy,
                                            const Principal& sealer) const {
  auto decision = EvaluateSealPolicyBytes(
      policy, SealPolicyContext{name, sealer, host_.name(), &domain_});
  if (!decision.ok()) {
    return absl::DataLossError(absl::StrCat(
        "the sealed policy does not decode: ", decision.status().message()));
  }
  Decision recorded =
      domain_.Record(caller, "Unseal", policy, *std::move(decision));
  if (!recorded.allowed) return Denied(recorded);
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
  TAO_ASSIGN_OR_RETURN(
      std::string policy_bytes,
      CheckSeal(Caller::Program(name), std::string(request.policy)));
  const size_t bundle_size = SealedBundleSize(
      policy_bytes.size(), name.text().size(), request.data.size());
  const size_t frame_size = DataResponseSize(request.id, bundle_size);
  if (frame_size > max_frame_size)
    return FrameTooLarge(frame_size, max_frame_size);
  AppendDataResponseHead(request.id, bundle_size, out);
  return host_.EncryptTo(request.data, policy_bytes, name, out);
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
  absl::Status allowed =
      sealer.text() != bundle.sealer
          ? absl::DataLossError(
                "sealed bundle names its sealer in a non-canonical form")
          : CheckUnseal(Caller::Program(name), name, bundle.policy, sealer);
  if (!allowed.ok()) OPENSSL_cleanse(out->data() + at, data_size);
  return allowed;
}

}  // namespace tao
