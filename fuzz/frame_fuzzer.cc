// The channel from a hosted program: a byte stream cut into frames, each
// parsed as a TaoRequest and answered by the same handler the listen loop
// uses (with the fixed host and an allow-all domain). Nothing crashes, every
// response answers its request's id, and an oversized frame is refused.
// Seal and Unseal frames that the loop's copy-free path accepts
// (ParseBulkRequest) must mean what protobuf reads, and get the answer
// Handle gives; AnswerFrame, the loop's entry point, answers every frame
// that parses with one whole response frame.
#include <cstdint>
#include <cstdlib>

#include "channels/framing.h"
#include "channels/tao_request_handler.h"
#include "channels/wire_format.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tao::fuzz::QuietProtobufLogs();
  static const tao::TaoRequestHandler* handler =
      new tao::TaoRequestHandler(tao::fuzz::Host(), tao::fuzz::Domain());
  tao::FrameReader reader(1 << 20);
  reader.Append(absl::string_view(reinterpret_cast<const char*>(data), size));
  tao::Principal name = tao::fuzz::ProgramName();
  for (int frames = 0; frames < 64; ++frames) {
    absl::string_view frame;
    auto ready = reader.Next(&frame);
    if (!ready.ok() || !*ready) break;
    tao::TaoRequest request;
    const bool parsed =
        request.ParseFromArray(frame.data(), static_cast<int>(frame.size()));
    // The loop's entry point: it answers what parses with one whole frame
    // that answers the request, and refuses only what does not parse.
    {
      std::string out;
      tao::Principal entry_name = name;
      auto answered = handler->AnswerFrame(frame, &entry_name, 2 << 20, &out);
      const bool bulk = tao::ParseBulkRequest(frame).has_value();
      if (answered.ok() != (parsed || bulk)) std::abort();
      if (answered.ok()) {
        tao::FrameReader answer(2 << 20);
        answer.Append(out);
        absl::string_view body;
        tao::TaoResponse response;
        auto got = answer.Next(&body);
        if (!got.ok() || !*got || answer.buffered() != 0 ||
            !response.ParseFromArray(body.data(),
                                     static_cast<int>(body.size())) ||
            response.code() != static_cast<int32_t>(answered->code)) {
          std::abort();
        }
        if (parsed && response.id() != request.id()) std::abort();
      }
    }
    if (auto bulk = tao::ParseBulkRequest(frame)) {
      if (!parsed || request.id() != bulk->id) std::abort();
      const bool seal = bulk->kind == tao::BulkRequestView::Kind::kSeal;
      if (seal ? !request.has_seal() || request.seal().data() != bulk->data ||
                     request.seal().policy() != bulk->policy
               : !request.has_unseal() ||
                     request.unseal().bundle() != bulk->data) {
        std::abort();
      }
      std::string out;
      absl::StatusCode code = handler->HandleBulk(*bulk, name, 2 << 20, &out);
      tao::FrameReader answer(2 << 20);
      answer.Append(out);
      absl::string_view body;
      tao::TaoResponse bulk_response;
      auto got = answer.Next(&body);
      if (!got.ok() || !*got || answer.buffered() != 0 ||
          !bulk_response.ParseFromArray(body.data(),
                                        static_cast<int>(body.size())) ||
          bulk_response.id() != bulk->id ||
          bulk_response.code() != static_cast<int32_t>(code)) {
        std::abort();
      }
      tao::Principal same_name = name;
      tao::TaoResponse reference = handler->Handle(request, &same_name);
      if (reference.code() != bulk_response.code()) std::abort();
      if (!seal && reference.code() == 0 &&
          (reference.unsealed().data() != bulk_response.unsealed().data() ||
           reference.unsealed().policy() != bulk_response.unsealed().policy() ||
           reference.unsealed().sealer() !=
               bulk_response.unsealed().sealer())) {
        std::abort();
      }
    }
    if (!parsed) break;
    tao::TaoResponse response = handler->Handle(request, &name);
    if (response.id() != request.id()) std::abort();
    if (response.code() != 0 && response.message().empty()) std::abort();
    std::string out;
    if (!tao::AppendFrame(response, 2 << 20, &out).ok()) std::abort();
  }
  if (!name.IsSelfOrSubprincipalOf(tao::fuzz::ProgramName())) std::abort();
  return 0;
}
