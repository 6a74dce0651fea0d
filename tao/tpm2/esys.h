// One ESYS context over one TCTI (tpm2-tss), with the bookkeeping every
// TPM command needs here: TPM time measured, errors turned into statuses
// that say what failed and why, transient objects and sessions flushed.
// Not thread-safe: one thread owns a context (tao/tpm2/tpm2_root.h).
#ifndef TAO_TAO_TPM2_ESYS_H_
#define TAO_TAO_TPM2_ESYS_H_

#include <tss2/tss2_esys.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tao {

// An open ESYS context. Move-only; Close (or the destructor) flushes what
// is still tracked and finalizes the context and the TCTI.
class EsysContext {
 public:
  // Opens the TPM named by `tcti` (a tpm2-tss TCTI configuration:
  // "device:/dev/tpmrm0", "swtpm:path=/run/swtpm.sock", ...). Returns
  // kUnavailable when the TCTI cannot reach a TPM (no TPM there or a wrong
  // TCTI), kInvalidArgument for an empty configuration.
  static absl::StatusOr<std::unique_ptr<EsysContext>> Open(
      const std::string& tcti);
  ~EsysContext();
  EsysContext(const EsysContext&) = delete;
  EsysContext& operator=(const EsysContext&) = delete;

  ESYS_CONTEXT* get() { return ctx_; }
  const std::string& tcti() const { return tcti_; }

  // Checks that the TPM answers, was started (TPM2_Startup) and is not in
  // dictionary-attack lockout. kFailedPrecondition naming the problem.
  absl::Status CheckReady();

  // Turns a TSS return code into a status: OK for TSS2_RC_SUCCESS, else a
  // status naming `what` and the decoded code. The code is kept in the
  // message as "rc 0x...", and TPM errors become kFailedPrecondition, TCTI
  // errors kUnavailable, others kInternal.
  static absl::Status Check(TSS2_RC rc, absl::string_view what);

  // Time spent waiting in ESYS calls so far (the TPM's command time and the
  // transport's), and how many calls.
  absl::Duration tpm_time() const { return tpm_time_; }
  int commands() const { return commands_; }
  // Adds one ESYS call's duration (the Timed helper calls it).
  void AddTime(absl::Duration d) {
    tpm_time_ += d;
    ++commands_;
  }

  // Flushes a transient object or session handle; errors are logged.
  void Flush(ESYS_TR handle);

 private:
  EsysContext(ESYS_CONTEXT* ctx, TSS2_TCTI_CONTEXT* tcti, std::string conf)
      : ctx_(ctx), tcti_ctx_(tcti), tcti_(std::move(conf)) {}

  ESYS_CONTEXT* ctx_;
  TSS2_TCTI_CONTEXT* tcti_ctx_;
  std::string tcti_;
  absl::Duration tpm_time_ = absl::ZeroDuration();
  int commands_ = 0;
};

// A transient object or session that is flushed when the guard goes out of
// scope (there may be no resource manager to do it). Move-only.
class TransientHandle {
 public:
  TransientHandle() = default;
  TransientHandle(EsysContext* ctx, ESYS_TR handle)
      : ctx_(ctx), handle_(handle) {}
  TransientHandle(TransientHandle&& o) noexcept
      : ctx_(o.ctx_), handle_(o.handle_) {
    o.handle_ = ESYS_TR_NONE;
  }
  TransientHandle& operator=(TransientHandle&& o) noexcept;
  ~TransientHandle() { Reset(); }

  ESYS_TR get() const { return handle_; }
  // Flushes now.
  void Reset();

 private:
  EsysContext* ctx_ = nullptr;
  ESYS_TR handle_ = ESYS_TR_NONE;
};

// Frees ESYS-allocated output structures.
struct EsysFree {
  void operator()(void* p) const { Esys_Free(p); }
};
template <typename T>
using EsysPtr = std::unique_ptr<T, EsysFree>;

// Runs one ESYS call, adding its duration to `ctx`'s TPM time.
template <typename F>
TSS2_RC Timed(EsysContext& ctx, F&& call) {
  const absl::Time start = absl::Now();
  TSS2_RC rc = call();
  ctx.AddTime(absl::Now() - start);
  return rc;
}

}  // namespace tao

#endif  // TAO_TAO_TPM2_ESYS_H_
