// tao-domain's long texts: its --help, and the policy.txt that `init` writes
// (root may administer, and commented examples of every kind of rule).
#ifndef TAO_APPS_TAO_DOMAIN_TEXTS_H_
#define TAO_APPS_TAO_DOMAIN_TEXTS_H_

#include "absl/strings/string_view.h"

namespace tao {

// What --help prints before the flags.
inline constexpr absl::string_view kUsage =
    R"usage(the domain: its policy key, its signed policy, its decisions.

Usage:
  tao-domain --domain_dir=D --name=NAME init    create the policy key (under a
                                                passphrase), a starter policy.txt
                                                and its signed form policy.signed
  tao-domain --domain_dir=D sign [POLICY_TXT]   check and sign POLICY_TXT (default
                                                D/policy.txt) into D/policy.signed,
                                                with serial --serial=N (default:
                                                the current policy.signed's + 1)
  tao-domain --domain_dir=D sign-pcrs 16=HEX 23=HEX...
                                                approve a PCR set for tpm2 hosts
                                                (docs/tpm2-root.md) into
                                                D/tpm2_pcr_authorization (--out)
  tao-domain --domain_dir=D show [SIGNED]       verify and print the signed policy
  tao-domain --domain_dir=D check [NAME] OP     dry-run a decision and explain it
        (--label=L for Seal/Unseal labels; --uid=U --gids=G,.. for admin callers;
         --run_as_uid=U for Execute as an explicit uid)
  tao-domain --domain_dir=D allow OP [OP...]    append a rule granting OP to policy.txt
        (--measurement=sha256:HEX or --uid=U;     and sign it (the command a denial's
         --label=L, --run_as_uid=U, --id=ID)      "to admit it" names)
  tao-domain audit-verify AUDIT_LOG             check the audit trail's hash chain
      [--checkpoint=F --key=HOST_NAME_FILE]     (every rotated file) and its checkpoint
  tao-domain --keys_dir=K new-publisher         create a publisher key
  tao-domain --keys_dir=K --product=P --product_version=N sign-program PROGRAM
                                                write PROGRAM.taosig
  tao-domain measure PROGRAM                    print the program's measurement and
                                                the publisher its signature names

The domain directory holds policy_keys (0600), policy_name (the policy key's
principal, which hosts pin), policy.txt (protobuf text, see
docs/domain-policy.md) and policy.signed. Passphrases come from
--passphrase_file or TAO_PASSPHRASE.

--json prints every command's result (and errors, on stderr) as one JSON
object. check exits 0 when allowed and 1 when denied; audit-verify 1 when the
trail was tampered with; a wrong passphrase or a bad signature is refused (1).)usage";

// The starter policy's text, with %NAME% where the domain's name goes.
inline constexpr absl::string_view kStarterPolicy =
    R"policy(# Domain policy in protobuf text format: see docs/domain-policy.md.
# Rules are read in order; the first that matches grants. Nothing is granted
# without a rule. Edit, then run `tao-domain sign` and reload the host.
domain_name: "%NAME%"

# Administrators: root may make every admin call. (A hosted program that
# reaches the admin socket is that program, never its uid: this rule does not
# apply to it even if it runs as root.)
rules {
  id: "root-admin"
  operations: "Admin:*"
  principals { uid: 0 }
}

# Example: let one program run and seal, by measurement (see
# `tao-domain measure PROGRAM`). It runs as a dynamic uid of its own; to run
# it as an explicit user (root is uid 0), list the uids it may run as:
# rules {
#   id: "demo-exec"
#   operations: ["Execute", "Seal", "Unseal", "Attest", "GetSharedSecret"]
#   principals { measurement: "sha256:<64 hex digits>" }
#   # run_as_uids: 0
# }

# Example: an operator (uid 1000) may start that one program, and only as a
# dynamic uid or as uid 1000.
# rules {
#   id: "operator-start"
#   operations: "Admin:Start"
#   principals { uid: 1000 }
#   programs { measurement: "sha256:<64 hex digits>" }
#   run_as_uids: 1000
# }

# Example: every version >= 2 of a signed product may run.
# rules {
#   id: "signed-app"
#   operations: "Execute"
#   principals { signer { signer: "key(ecdsa-p256:...)" product: "app" min_version: 2 } }
# }

# Example: whoever holds label "db-creds" may unseal DomainRule(db-creds) data.
# rules {
#   id: "db-creds"
#   operations: "Unseal"
#   labels: "db-creds"
#   principals { name_prefix: "key(ecdsa-p256:...).Program(sha256:...)" }
# }
)policy";

}  // namespace tao

#endif  // TAO_APPS_TAO_DOMAIN_TEXTS_H_
