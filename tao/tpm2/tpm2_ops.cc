#include "tao/tpm2/tpm2_ops.h"

#include <tss2/tss2_mu.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "tao/crypto.h"
#include "tao/principal.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

constexpr size_t kMaxSealedSecret = 128;

std::string Bytes(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

template <typename T>
bool CopyTo(absl::string_view in, T* out) {
  if (in.size() > sizeof(out->buffer)) return false;
  out->size = static_cast<UINT16>(in.size());
  std::memcpy(out->buffer, in.data(), in.size());
  return true;
}

TPML_PCR_SELECTION Selection(const std::vector<uint32_t>& pcrs) {
  TPML_PCR_SELECTION sel{};
  sel.count = 1;
  sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
  sel.pcrSelections[0].sizeofSelect = 3;
  for (uint32_t pcr : pcrs) {
    if (pcr <= kTpm2MaxPcr) {
      sel.pcrSelections[0].pcrSelect[pcr / 8] |=
          static_cast<BYTE>(1u << (pcr % 8));
    }
  }
  return sel;
}

std::vector<uint32_t> Indices(const PcrValues& values) {
  std::vector<uint32_t> out;
  for (const auto& [index, value] : values) out.push_back(index);
  return out;
}

TPM2B_PUBLIC EccTemplate(TPMA_OBJECT attributes) {
  TPM2B_PUBLIC pub{};
  pub.publicArea.type = TPM2_ALG_ECC;
  pub.publicArea.nameAlg = TPM2_ALG_SHA256;
  pub.publicArea.objectAttributes = attributes;
  pub.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  pub.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  pub.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  pub.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
  return pub;
}

// The storage key: a restricted decryption ECC primary of the owner
// hierarchy, re-created from the same template at every start.
absl::StatusOr<TransientHandle> CreateStorageKey(EsysContext& ctx) {
  TPM2B_PUBLIC pub = EccTemplate(
      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
      TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
      TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA);
  auto& sym = pub.publicArea.parameters.eccDetail.symmetric;
  sym.algorithm = TPM2_ALG_AES;
  sym.keyBits.aes = 128;
  sym.mode.aes = TPM2_ALG_CFB;
  TPM2B_SENSITIVE_CREATE sensitive{};
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION creation{};
  ESYS_TR handle = ESYS_TR_NONE;
  TSS2_RC rc = Timed(ctx, [&] {
    return Esys_CreatePrimary(ctx.get(), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
                              ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &pub,
                              &outside, &creation, &handle, nullptr, nullptr,
                              nullptr, nullptr);
  });
  TAO_RETURN_IF_ERROR(
      EsysContext::Check(rc, "CreatePrimary (owner storage key)"));
  return TransientHandle(&ctx, handle);
}

// A policy session whose responses are encrypted (salted with the storage
// key), so the unsealed secret does not cross the bus in the clear.
absl::StatusOr<TransientHandle> StartPolicySession(EsysContext& ctx,
                                                   ESYS_TR salt_key) {
  TPMT_SYM_DEF sym{};
  sym.algorithm = TPM2_ALG_AES;
  sym.keyBits.aes = 128;
  sym.mode.aes = TPM2_ALG_CFB;
  ESYS_TR session = ESYS_TR_NONE;
  TSS2_RC rc = Timed(ctx, [&] {
    return Esys_StartAuthSession(
        ctx.get(), salt_key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
        ESYS_TR_NONE, nullptr, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, &session);
  });
  TAO_RETURN_IF_ERROR(EsysContext::Check(rc, "StartAuthSession (policy)"));
  TransientHandle guard(&ctx, session);
  rc = Esys_TRSess_SetAttributes(
      ctx.get(), session, TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION,
      0xff);
  TAO_RETURN_IF_ERROR(EsysContext::Check(rc, "TRSess_SetAttributes"));
  return guard;
}

absl::Status PolicyPcrNow(EsysContext& ctx, ESYS_TR session,
                          const std::vector<uint32_t>& pcrs) {
  TPM2B_DIGEST empty{};
  TPML_PCR_SELECTION sel = Selection(pcrs);
  TSS2_RC rc = Timed(ctx, [&] {
    return Esys_PolicyPCR(ctx.get(), session, ESYS_TR_NONE, ESYS_TR_NONE,
                          ESYS_TR_NONE, &empty, &sel);
  });
  return EsysContext::Check(rc, "PolicyPCR");
}

absl::StatusOr<SecretString> FinishUnseal(EsysContext& ctx, ESYS_TR session,
                                          ESYS_TR srk,
                                          const Tpm2SealedState& state) {
  TPML_DIGEST branches{};
  branches.count = 2;
  if (!CopyTo(state.pcr_branch(), &branches.digests[0]) ||
      !CopyTo(state.authorize_branch(), &branches.digests[1])) {
    return absl::DataLossError("tpm2: the sealed state's policy is malformed");
  }
  TSS2_RC rc = Timed(ctx, [&] {
    return Esys_PolicyOR(ctx.get(), session, ESYS_TR_NONE, ESYS_TR_NONE,
                         ESYS_TR_NONE, &branches);
  });
  TAO_RETURN_IF_ERROR(EsysContext::Check(rc, "PolicyOR"));
  TPM2B_PUBLIC pub{};
  TPM2B_PRIVATE priv{};
  size_t off = 0;
  rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(
      reinterpret_cast<const uint8_t*>(state.public_area().data()),
      state.public_area().size(), &off, &pub);
  size_t off2 = 0;
  if (rc == TSS2_RC_SUCCESS) {
    rc = Tss2_MU_TPM2B_PRIVATE_Unmarshal(
        reinterpret_cast<const uint8_t*>(state.private_area().data()),
        state.private_area().size(), &off2, &priv);
  }
  if (rc != TSS2_RC_SUCCESS || off != state.public_area().size() ||
      off2 != state.private_area().size()) {
    return absl::DataLossError("tpm2: the sealed object does not unmarshal");
  }
  ESYS_TR object = ESYS_TR_NONE;
  rc = Timed(ctx, [&] {
    return Esys_Load(ctx.get(), srk, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                     ESYS_TR_NONE, &priv, &pub, &object);
  });
  TAO_RETURN_IF_ERROR(EsysContext::Check(rc, "Load (sealed object)"));
  TransientHandle loaded(&ctx, object);
  TPM2B_SENSITIVE_DATA* raw = nullptr;
  rc = Timed(ctx, [&] {
    return Esys_Unseal(ctx.get(), object, session, ESYS_TR_NONE, ESYS_TR_NONE,
                       &raw);
  });
  EsysPtr<TPM2B_SENSITIVE_DATA> data(raw);
  TAO_RETURN_IF_ERROR(EsysContext::Check(rc, "Unseal"));
  if (data == nullptr || data->size == 0 || data->size > sizeof(data->buffer)) {
    return absl::DataLossError("tpm2: the TPM's Unseal reply is malformed");
  }
  SecretString out(Bytes(data->buffer, data->size));
  std::memset(data->buffer, 0, sizeof(data->buffer));
  return out;
}

}  // namespace

absl::StatusOr<PcrValues> ReadPcrs(EsysContext& ctx,
                                   const std::vector<uint32_t>& pcrs) {
  PcrValues out;
  // A TPML_DIGEST holds at most 8 values: read in chunks.
  for (size_t start = 0; start < pcrs.size(); start += 8) {
    std::vector<uint32_t> chunk(
        pcrs.begin() + start, pcrs.begin() + std::min(pcrs.size(), start + 8));
    TPML_PCR_SELECTION sel = Selection(chunk);
    UINT32 counter = 0;
    TPML_PCR_SELECTION* raw_sel = nullptr;
    TPML_DIGEST* raw_values = nullptr;
    TSS2_RC rc = Timed(ctx, [&] {
      return Esys_PCR_Read(ctx.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                           &sel, &counter, &raw_sel, &raw_values);
    });
    EsysPtr<TPML_PCR_SELECTION> got_sel(raw_sel);
    EsysPtr<TPML_DIGEST> values(raw_values);
    TAO_RETURN_IF_ERROR(EsysContext::Check(rc, "PCR_Read"));
    if (got_sel == nullptr || values == nullptr || got_sel->count != 1 ||
        got_sel->pcrSelections[0].hash != TPM2_ALG_SHA256 ||
        got_sel->pcrSelections[0].sizeofSelect < 3 ||
        std::memcmp(got_sel->pcrSelections[0].pcrSelect,
                    sel.pcrSelections[0].pcrSelect, 3) != 0 ||
        values->count != chunk.size()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "tpm2: the TPM did not return SHA-256 PCRs ", PcrListText(chunk),
          " (does it have an active SHA-256 bank?)"));
    }
    for (size_t i = 0; i < chunk.size(); ++i) {
      if (values->digests[i].size != kSha256Size) {
        return absl::FailedPreconditionError(
            "tpm2: the TPM returned a PCR value that is not 32 bytes");
      }
      out[chunk[i]] = Bytes(values->digests[i].buffer, kSha256Size);
    }
  }
  return out;
}

absl::StatusOr<Tpm2AttestationKey> CreateAttestationKey(EsysContext& ctx) {
  TPM2B_PUBLIC pub =
      EccTemplate(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                  TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                  TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT);
  auto& scheme = pub.publicArea.parameters.eccDetail.scheme;
  scheme.scheme = TPM2_ALG_ECDSA;
  scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  TPM2B_SENSITIVE_CREATE sensitive{};
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION creation{};
  ESYS_TR ak = ESYS_TR_NONE;
  TPM2B_PUBLIC* raw_pub = nullptr;
  TSS2_RC rc = Timed(ctx, [&] {
    return Esys_CreatePrimary(ctx.get(), ESYS_TR_RH_ENDORSEMENT,
                              ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                              &sensitive, &pub, &outside, &creation, &ak,
                              &raw_pub, nullptr, nullptr, nullptr);
  });
  EsysPtr<TPM2B_PUBLIC> ak_pub(raw_pub);
  TAO_RETURN_IF_ERROR(
      EsysContext::Check(rc, "CreatePrimary (endorsement attestation key)"));
  TransientHandle ak_guard(&ctx, ak);
  if (ak_pub == nullptr || ak_pub->publicArea.type != TPM2_ALG_ECC) {
    return absl::FailedPreconditionError(
        "tpm2: the attestation key's public area is not an ECC key");
  }
  const auto& point = ak_pub->publicArea.unique.ecc;
  if (point.x.size > sizeof(point.x.buffer) ||
      point.y.size > sizeof(point.y.buffer)) {
    return absl::FailedPreconditionError(
        "tpm2: the attestation key's point is malformed");
  }
  auto spki = P256SpkiFromPoint(Bytes(point.x.buffer, point.x.size),
                                Bytes(point.y.buffer, point.y.size));
  if (!spki.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("tpm2: the attestation key is not a P-256 key: ",
                     spki.status().message()));
  }
  return Tpm2AttestationKey{std::move(ak_guard), *std::move(spki)};
}

absl::StatusOr<Tpm2QuoteResult> Quote(EsysContext& ctx,
                                      const Tpm2AttestationKey& ak,
                                      const std::vector<uint32_t>& pcrs,
                                      absl::string_view qualifying_data) {
  TPM2B_DATA qualifying{};
  if (!CopyTo(qualifying_data, &qualifying)) {
    return absl::InvalidArgumentError("tpm2: qualifying data is too long");
  }
  TPMT_SIG_SCHEME in_scheme{};
  in_scheme.scheme = TPM2_ALG_NULL;
  TPML_PCR_SELECTION sel = Selection(pcrs);
  TPM2B_ATTEST* raw_attest = nullptr;
  TPMT_SIGNATURE* raw_sig = nullptr;
  TSS2_RC rc = Timed(ctx, [&] {
    return Esys_Quote(ctx.get(), ak.handle.get(), ESYS_TR_PASSWORD,
                      ESYS_TR_NONE, ESYS_TR_NONE, &qualifying, &in_scheme, &sel,
                      &raw_attest, &raw_sig);
  });
  EsysPtr<TPM2B_ATTEST> attest(raw_attest);
  EsysPtr<TPMT_SIGNATURE> sig(raw_sig);
  TAO_RETURN_IF_ERROR(EsysContext::Check(rc, "Quote"));
  if (attest == nullptr || sig == nullptr ||
      attest->size > sizeof(attest->attestationData) ||
      sig->sigAlg != TPM2_ALG_ECDSA) {
    return absl::FailedPreconditionError(
        "tpm2: the TPM's Quote reply is malformed or not ECDSA");
  }
  const auto& ecdsa = sig->signature.ecdsa;
  if (ecdsa.signatureR.size > sizeof(ecdsa.signatureR.buffer) ||
      ecdsa.signatureS.size > sizeof(ecdsa.signatureS.buffer)) {
    return absl::FailedPreconditionError(
        "tpm2: the quote's signature is "
        "malformed");
  }
  auto der =
      EcdsaDerFromRs(Bytes(ecdsa.signatureR.buffer, ecdsa.signatureR.size),
                     Bytes(ecdsa.signatureS.buffer, ecdsa.signatureS.size));
  if (!der.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("tpm2: the quote's signature: ", der.status().message()));
  }
  return Tpm2QuoteResult{Bytes(attest->attestationData, attest->size),
                         *std::move(der)};
}

namespace {
TPM2B_PUBLIC VerifyKeyPublic(const VerifyingKey& key) {
  TPM2B_PUBLIC pub =
      EccTemplate(TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH);
  auto& scheme = pub.publicArea.parameters.eccDetail.scheme;
  scheme.scheme = TPM2_ALG_ECDSA;
  scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  // The SPKI is canonical (VerifyingKey): X and Y are its last 64 bytes.
  const std::string& spki = key.spki();
  auto& point = pub.publicArea.unique.ecc;
  point.x.size = 32;
  std::memcpy(point.x.buffer, spki.data() + spki.size() - 64, 32);
  point.y.size = 32;
  std::memcpy(point.y.buffer, spki.data() + spki.size() - 32, 32);
  return pub;
}
}  // namespace

absl::StatusOr<std::string> Tpm2KeyName(const VerifyingKey& key) {
  TPM2B_PUBLIC pub = VerifyKeyPublic(key);
  uint8_t buf[sizeof(TPMT_PUBLIC)];
  size_t off = 0;
  TSS2_RC rc =
      Tss2_MU_TPMT_PUBLIC_Marshal(&pub.publicArea, buf, sizeof(buf), &off);
  TAO_RETURN_IF_ERROR(EsysContext::Check(rc, "TPMT_PUBLIC marshal"));
  std::string name;
  name.push_back(static_cast<char>(TPM2_ALG_SHA256 >> 8));
  name.push_back(static_cast<char>(TPM2_ALG_SHA256 & 0xff));
  return name + Sha256(Bytes(buf, off));
}

absl::StatusOr<Tpm2SealedState> CreateSealedObject(
    EsysContext& ctx, absl::string_view secret, const PcrValues& baseline,
    const VerifyingKey& policy_key) {
  if (secret.empty() || secret.size() > kMaxSealedSecret) {
    return absl::InvalidArgumentError("tpm2: a sealed secret is 1-128 bytes");
  }
  Tpm2SealedState state;
  TAO_ASSIGN_OR_RETURN(std::string pcr_branch, PolicyPcrDigest(baseline));
  TAO_ASSIGN_OR_RETURN(std::string key_name, Tpm2KeyName(policy_key));
  std::string authorize_branch = PolicyAuthorizeDigest(key_name);
  TAO_ASSIGN_OR_RETURN(std::string policy,
                       PolicyOrDigest({pcr_branch, authorize_branch}));
  TAO_ASSIGN_OR_RETURN(TransientHandle srk, CreateStorageKey(ctx));

  TPM2B_PUBLIC pub{};
  pub.publicArea.type = TPM2_ALG_KEYEDHASH;
  pub.publicArea.nameAlg = TPM2_ALG_SHA256;
  pub.publicArea.objectAttributes =
      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA;
  pub.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
  CopyTo(policy, &pub.publicArea.authPolicy);
  TPM2B_SENSITIVE_CREATE sensitive{};
  CopyTo(secret, &sensitive.sensitive.data);
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION creation{};
  TPM2B_PRIVATE* raw_priv = nullptr;
  TPM2B_PUBLIC* raw_pub = nullptr;
  TSS2_RC rc = Timed(ctx, [&] {
    return Esys_Create(ctx.get(), srk.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE,
                       ESYS_TR_NONE, &sensitive, &pub, &outside, &creation,
                       &raw_priv, &raw_pub, nullptr, nullptr, nullptr);
  });
  std::memset(&sensitive, 0, sizeof(sensitive));
  EsysPtr<TPM2B_PRIVATE> priv(raw_priv);
  EsysPtr<TPM2B_PUBLIC> made(raw_pub);
  TAO_RETURN_IF_ERROR(EsysContext::Check(rc, "Create (sealed object)"));
  if (priv == nullptr || made == nullptr) {
    return absl::FailedPreconditionError("tpm2: Create returned nothing");
  }
  uint8_t buf[sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE)];
  size_t off = 0;
  rc = Tss2_MU_TPM2B_PUBLIC_Marshal(made.get(), buf, sizeof(buf), &off);
  TAO_RETURN_IF_ERROR(EsysContext::Check(rc, "TPM2B_PUBLIC marshal"));
  state.set_public_area(Bytes(buf, off));
  off = 0;
  rc = Tss2_MU_TPM2B_PRIVATE_Marshal(priv.get(), buf, sizeof(buf), &off);
  TAO_RETURN_IF_ERROR(EsysContext::Check(rc, "TPM2B_PRIVATE marshal"));
  state.set_private_area(Bytes(buf, off));
  for (const auto& [index, value] : baseline) {
    Tpm2Pcr* pcr = state.add_pcrs();
    pcr->set_index(index);
    pcr->set_value(value);
  }
  state.set_pcr_branch(pcr_branch);
  state.set_authorize_branch(authorize_branch);
  state.set_policy_key(Principal::ForKey(policy_key).text());
  return state;
}

absl::StatusOr<SecretString> UnsealWithPcrs(EsysContext& ctx,
                                            const Tpm2SealedState& state) {
  PcrValues baseline;
  for (const Tpm2Pcr& pcr : state.pcrs()) baseline[pcr.index()] = pcr.value();
  TAO_ASSIGN_OR_RETURN(TransientHandle srk, CreateStorageKey(ctx));
  TAO_ASSIGN_OR_RETURN(TransientHandle session,
                       StartPolicySession(ctx, srk.get()));
  TAO_RETURN_IF_ERROR(PolicyPcrNow(ctx, session.get(), Indices(baseline)));
  return FinishUnseal(ctx, session.get(), srk.get(), state);
}

absl::StatusOr<SecretString> UnsealWithAuthorization(
    EsysContext& ctx, const Tpm2SealedState& state,
    const Tpm2PcrAuthorization& approval, const VerifyingKey& policy_key) {
  PcrValues approved;
  for (const Tpm2Pcr& pcr : approval.pcrs())
    approved[pcr.index()] = pcr.value();
  TAO_ASSIGN_OR_RETURN(std::string approved_policy, PolicyPcrDigest(approved));
  std::string r, s;
  TAO_RETURN_IF_ERROR(EcdsaRsFromDer(approval.signature(), &r, &s));

  TPM2B_PUBLIC pub = VerifyKeyPublic(policy_key);
  ESYS_TR key = ESYS_TR_NONE;
  TSS2_RC rc = Timed(ctx, [&] {
    return Esys_LoadExternal(ctx.get(), ESYS_TR_NONE, ESYS_TR_NONE,
                             ESYS_TR_NONE, nullptr, &pub, ESYS_TR_RH_OWNER,
                             &key);
  });
  TAO_RETURN_IF_ERROR(EsysContext::Check(rc, "LoadExternal (policy key)"));
  TransientHandle key_guard(&ctx, key);
  TPM2B_NAME* raw_name = nullptr;
  rc = Esys_TR_GetName(ctx.get(), key, &raw_name);
  EsysPtr<TPM2B_NAME> name(raw_name);
  TAO_RETURN_IF_ERROR(EsysContext::Check(rc, "TR_GetName"));

  TPM2B_DIGEST digest{};
  CopyTo(Sha256(PolicyAuthorizationMessage(approved_policy)), &digest);
  TPMT_SIGNATURE signature{};
  signature.sigAlg = TPM2_ALG_ECDSA;
  signature.signature.ecdsa.hash = TPM2_ALG_SHA256;
  CopyTo(r, &signature.signature.ecdsa.signatureR);
  CopyTo(s, &signature.signature.ecdsa.signatureS);
  TPMT_TK_VERIFIED* raw_ticket = nullptr;
  rc = Timed(ctx, [&] {
    return Esys_VerifySignature(ctx.get(), key, ESYS_TR_NONE, ESYS_TR_NONE,
                                ESYS_TR_NONE, &digest, &signature, &raw_ticket);
  });
  EsysPtr<TPMT_TK_VERIFIED> ticket(raw_ticket);
  TAO_RETURN_IF_ERROR(EsysContext::Check(
      rc, "VerifySignature (the domain's signature over the PCR set)"));

  TAO_ASSIGN_OR_RETURN(TransientHandle srk, CreateStorageKey(ctx));
  TAO_ASSIGN_OR_RETURN(TransientHandle session,
                       StartPolicySession(ctx, srk.get()));
  TAO_RETURN_IF_ERROR(PolicyPcrNow(ctx, session.get(), Indices(approved)));
  TPM2B_DIGEST approved_digest{};
  CopyTo(approved_policy, &approved_digest);
  TPM2B_NONCE ref{};
  CopyTo(kTpm2PolicyRef, &ref);
  rc = Timed(ctx, [&] {
    return Esys_PolicyAuthorize(ctx.get(), session.get(), ESYS_TR_NONE,
                                ESYS_TR_NONE, ESYS_TR_NONE, &approved_digest,
                                &ref, name.get(), ticket.get());
  });
  TAO_RETURN_IF_ERROR(EsysContext::Check(rc, "PolicyAuthorize"));
  key_guard.Reset();
  return FinishUnseal(ctx, session.get(), srk.get(), state);
}

}  // namespace tao
