// The one place admin calls are authorized. kAdminOperations says which
// Admin:<Op> operation each AdminService rpc needs; AdminAuthorizer finds
// out who is calling on a connection (its OS credentials, or the hosted
// program it belongs to) and asks the domain. A method the table does not
// name is refused, whoever calls it.
#ifndef TAO_ADMIN_ADMIN_AUTHORIZER_H_
#define TAO_ADMIN_ADMIN_AUTHORIZER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "admin/peer_credentials.h"
#include "admin/program_host.h"
#include "tao_domain/tao_domain.h"

namespace tao {

// An rpc of admin.proto's AdminService (by its name there, e.g.
// "StartHostedProgram") and the operation the domain is asked for it.
struct AdminMethodOperation {
  absl::string_view method;
  absl::string_view operation;
};

// The whole table, in admin.proto's order.
absl::Span<const AdminMethodOperation> AdminMethodOperations();

// The operation rpc `method` needs; kPermissionDenied for a method the
// table does not name (fail closed: no caller may call it).
absl::StatusOr<absl::string_view> AdminOperationOf(absl::string_view method);

// Thread-safe (TaoDomain, the registry and the program host are).
class AdminAuthorizer {
 public:
  // Not owned; all must outlive the authorizer.
  AdminAuthorizer(TaoDomain& domain, const PeerCredentialRegistry& peers,
                  const ProgramHost& programs)
      : domain_(domain), peers_(peers), programs_(programs) {}

  // Identifies the caller on gRPC peer `peer` and asks the domain whether it
  // may call rpc `method`. The caller on success. kUnauthenticated if the
  // connection's credentials are unknown, or its pid belongs to the host's
  // programs but to none that runs; kPermissionDenied with the domain's
  // reason (cut to what a caller may learn), or for a method missing from
  // the table. A caller that is one of the host's hosted programs (or a
  // descendant) is that program, never its uid.
  absl::StatusOr<Caller> Authorize(const std::string& peer,
                                   absl::string_view method) const;

 private:
  TaoDomain& domain_;
  const PeerCredentialRegistry& peers_;
  const ProgramHost& programs_;
};

}  // namespace tao

#endif  // TAO_ADMIN_ADMIN_AUTHORIZER_H_
