#include "tao/tpm2/esys.h"

#include <glog/logging.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tao {

absl::StatusOr<std::unique_ptr<EsysContext>> EsysContext::Open(
    const std::string& tcti) {
  if (tcti.empty()) {
    return absl::InvalidArgumentError("tpm2: no TCTI configured");
  }
  TSS2_TCTI_CONTEXT* tcti_ctx = nullptr;
  TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti.c_str(), &tcti_ctx);
  if (rc != TSS2_RC_SUCCESS) {
    return absl::UnavailableError(absl::StrCat(
        "tpm2: cannot reach a TPM through TCTI '", tcti,
        "' (no TPM there, or a wrong TCTI: see the tpm2-tss messages above): ",
        Tss2_RC_Decode(rc)));
  }
  ESYS_CONTEXT* ctx = nullptr;
  rc = Esys_Initialize(&ctx, tcti_ctx, nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    Tss2_TctiLdr_Finalize(&tcti_ctx);
    return absl::UnavailableError(
        absl::StrCat("tpm2: cannot open an ESYS context over TCTI '", tcti,
                     "': ", Tss2_RC_Decode(rc)));
  }
  return std::unique_ptr<EsysContext>(new EsysContext(ctx, tcti_ctx, tcti));
}

EsysContext::~EsysContext() {
  if (ctx_ != nullptr) Esys_Finalize(&ctx_);
  if (tcti_ctx_ != nullptr) Tss2_TctiLdr_Finalize(&tcti_ctx_);
}

absl::Status EsysContext::Check(TSS2_RC rc, absl::string_view what) {
  if (rc == TSS2_RC_SUCCESS) return absl::OkStatus();
  std::string message = absl::StrFormat("tpm2: %s failed: %s (rc 0x%x)", what,
                                        Tss2_RC_Decode(rc), rc);
  const TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
  if (layer == TSS2_TPM_RC_LAYER) {
    return absl::FailedPreconditionError(message);
  }
  if (layer == TSS2_TCTI_RC_LAYER) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

absl::Status EsysContext::CheckReady() {
  TPMI_YES_NO more = TPM2_NO;
  TPMS_CAPABILITY_DATA* raw = nullptr;
  TSS2_RC rc = Timed(*this, [&] {
    return Esys_GetCapability(ctx_, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              TPM2_CAP_TPM_PROPERTIES, TPM2_PT_PERMANENT, 1,
                              &more, &raw);
  });
  EsysPtr<TPMS_CAPABILITY_DATA> data(raw);
  if ((rc & ~TSS2_RC_LAYER_MASK) == TPM2_RC_INITIALIZE &&
      (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER) {
    return absl::FailedPreconditionError(absl::StrCat(
        "tpm2: the TPM at '", tcti_,
        "' was not started (TPM2_Startup): start swtpm with --flags "
        "startup-clear, or run tpm2_startup -c"));
  }
  if (rc != TSS2_RC_SUCCESS) {
    return absl::Status(
        Check(rc, "GetCapability").code(),
        absl::StrCat("tpm2: the TPM at '", tcti_, "' does not answer: ",
                     Check(rc, "GetCapability").message()));
  }
  if (data == nullptr || data->capability != TPM2_CAP_TPM_PROPERTIES ||
      data->data.tpmProperties.count < 1 ||
      data->data.tpmProperties.tpmProperty[0].property != TPM2_PT_PERMANENT) {
    return absl::FailedPreconditionError(
        "tpm2: the TPM's answer to GetCapability(TPM2_PT_PERMANENT) is "
        "malformed");
  }
  if (data->data.tpmProperties.tpmProperty[0].value &
      TPMA_PERMANENT_INLOCKOUT) {
    return absl::FailedPreconditionError(absl::StrCat(
        "tpm2: the TPM at '", tcti_,
        "' is in dictionary-attack lockout; wait for its recovery time or "
        "clear it with the lockout authorization (tpm2_dictionarylockout "
        "--clear-lockout)"));
  }
  return absl::OkStatus();
}

void EsysContext::Flush(ESYS_TR handle) {
  if (handle == ESYS_TR_NONE) return;
  TSS2_RC rc = Timed(*this, [&] { return Esys_FlushContext(ctx_, handle); });
  if (rc != TSS2_RC_SUCCESS) {
    LOG(WARNING) << Check(rc, "FlushContext").message();
  }
}

TransientHandle& TransientHandle::operator=(TransientHandle&& o) noexcept {
  if (this != &o) {
    Reset();
    ctx_ = o.ctx_;
    handle_ = o.handle_;
    o.handle_ = ESYS_TR_NONE;
  }
  return *this;
}

void TransientHandle::Reset() {
  if (ctx_ != nullptr && handle_ != ESYS_TR_NONE) ctx_->Flush(handle_);
  handle_ = ESYS_TR_NONE;
}

}  // namespace tao
