// Protobuf text format from untrusted bytes (policies, configs), with errors
// that name the line and column.
#ifndef TAO_TAO_TEXT_PROTO_H_
#define TAO_TAO_TEXT_PROTO_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace tao {

// Parses `text` into `message` (cleared first). kInvalidArgument with up to
// five "line L, column C: why" errors, prefixed by `what`.
absl::Status ParseTextProto(absl::string_view what, absl::string_view text,
                            google::protobuf::Message* message);

}  // namespace tao

#endif  // TAO_TAO_TEXT_PROTO_H_
