// The one conversion of an admin StartHostedProgramRequest (from taoctl, or
// a boot program of taohost's config) into the loop's StartRequest: the
// launch spec by kind (or the flat process fields of older clients), the
// channel kind parsed through the registry (channels/channel_kinds.h) and
// the restart policy.
#ifndef TAO_ADMIN_START_REQUEST_H_
#define TAO_ADMIN_START_REQUEST_H_

#include "absl/status/statusor.h"
#include "admin/admin.pb.h"
#include "channels/loop_types.h"

namespace tao {

// kInvalidArgument for an unknown channel kind ("unknown channel 'x' (pipe,
// shm or socketpair)"), or for a launch spec given together with the flat
// process fields; kUnimplemented for a VM spec (no factory of
// those kinds yet). Thread-safe.
absl::StatusOr<StartRequest> StartRequestFromProto(
    const admin::StartHostedProgramRequest& in);

// The inverse for a process (a request with the `process` spec set), for
// tests and tools: old flat fields are never written.
admin::StartHostedProgramRequest StartRequestToProto(
    const StartRequest& request);

}  // namespace tao

#endif  // TAO_ADMIN_START_REQUEST_H_
