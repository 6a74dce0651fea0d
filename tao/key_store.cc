#include "tao/key_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "tao/byte_reader.h"
#include "tao/file_util.h"
#include "tao/principal.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

constexpr absl::string_view kMagic = "TAOK";
constexpr uint16_t kVersion = 1;
constexpr size_t kSaltSize = 16;
constexpr size_t kCheckSize = 32;
constexpr absl::string_view kCheckLabel = "tao-keys-passphrase-check-v1";
constexpr size_t kMaxCiphertext = 64 * 1024;

// scrypt output: 32 bytes of AES key, then 32 bytes for the check value.
struct PassphraseKeys {
  SecretString aes_key;
  std::string check;
};

absl::StatusOr<PassphraseKeys> DerivePassphraseKeys(
    absl::string_view passphrase, absl::string_view salt,
    const ScryptParams& params) {
  if (passphrase.empty()) {
    return absl::InvalidArgumentError("the passphrase must not be empty");
  }
  auto derived = ScryptDerive(passphrase, salt, params, 64);
  if (!derived.ok()) return derived.status();
  PassphraseKeys out;
  out.aes_key = SecretString(std::string(derived->view().substr(0, 32)));
  out.check = Sha256(absl::StrCat(kCheckLabel, derived->view().substr(32)));
  return out;
}

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("keys file: ", why));
}

}  // namespace

absl::StatusOr<HostKeys> HostKeys::Generate() {
  auto key = SigningKey::Generate();
  if (!key.ok()) return key.status();
  SecretString secret(kSealingSecretSize);
  absl::Status filled = FillRandom(secret.data(), secret.size());
  if (!filled.ok()) return filled;
  return HostKeys{std::move(key).value(), std::move(secret)};
}

absl::StatusOr<std::string> EncryptHostKeys(const HostKeys& keys,
                                            absl::string_view passphrase,
                                            const ScryptParams& params) {
  auto salt = RandomBytes(kSaltSize);
  if (!salt.ok()) return salt.status();
  auto iv = RandomBytes(kAesGcmIvSize);
  if (!iv.ok()) return iv.status();
  auto derived = DerivePassphraseKeys(passphrase, *salt, params);
  if (!derived.ok()) return derived.status();
  auto pkcs8 = keys.signing_key.ToPkcs8();
  if (!pkcs8.ok()) return pkcs8.status();

  std::string plain_bytes;
  AppendU32(static_cast<uint32_t>(pkcs8->size()), &plain_bytes);
  plain_bytes.append(pkcs8->data(), pkcs8->size());
  AppendU32(static_cast<uint32_t>(keys.sealing_secret.size()), &plain_bytes);
  plain_bytes.append(keys.sealing_secret.data(), keys.sealing_secret.size());
  SecretString plaintext(std::move(plain_bytes));

  std::string out(kMagic);
  AppendU16(kVersion, &out);
  AppendU16(0, &out);
  AppendU64(params.n, &out);
  AppendU32(params.r, &out);
  AppendU32(params.p, &out);
  out.append(*salt);
  out.append(derived->check);
  out.append(*iv);
  AppendU32(static_cast<uint32_t>(plaintext.size()), &out);
  size_t header_size = out.size();
  out.resize(header_size + plaintext.size() + kAesGcmTagSize);
  absl::Status sealed = AesGcmEncrypt(
      derived->aes_key.view(), *iv, absl::string_view(out.data(), header_size),
      plaintext.data(), plaintext.size(), out.data() + header_size,
      out.data() + header_size + plaintext.size());
  if (!sealed.ok()) return sealed;
  return out;
}

absl::StatusOr<HostKeys> DecryptHostKeys(absl::string_view file,
                                         absl::string_view passphrase) {
  ByteReader r(file);
  absl::string_view magic, salt, check, iv, ciphertext, tag;
  uint16_t version = 0, flags = 0;
  uint32_t r_param = 0, p_param = 0, ct_len = 0;
  ScryptParams params;
  if (!r.Take(4, &magic) || magic != kMagic) {
    return Malformed("not a Tao keys file (magic is not \"TAOK\")");
  }
  if (!r.ReadU16(&version) || !r.ReadU16(&flags))
    return Malformed("truncated header");
  if (version != kVersion) {
    return Malformed(
        absl::StrCat("format version ", version, " is not supported"));
  }
  if (flags != 0) return Malformed("unknown flags");
  if (!r.ReadU64(&params.n) || !r.ReadU32(&r_param) || !r.ReadU32(&p_param)) {
    return Malformed("truncated scrypt parameters");
  }
  params.r = r_param;
  params.p = p_param;
  absl::Status params_ok = ValidateScryptParams(params);
  if (!params_ok.ok()) return Malformed(params_ok.message());
  if (!r.Take(kSaltSize, &salt) || !r.Take(kCheckSize, &check) ||
      !r.Take(kAesGcmIvSize, &iv) || !r.ReadU32(&ct_len)) {
    return Malformed("truncated header");
  }
  absl::string_view header = r.consumed();
  if (ct_len > kMaxCiphertext || r.remaining() != ct_len + kAesGcmTagSize) {
    return Malformed(absl::StrCat("ciphertext length ", ct_len,
                                  " does not match the file size"));
  }
  r.Take(ct_len, &ciphertext);
  r.Take(kAesGcmTagSize, &tag);

  auto derived = DerivePassphraseKeys(passphrase, salt, params);
  if (!derived.ok()) return derived.status();
  if (!ConstantTimeEquals(derived->check, check)) {
    return absl::PermissionDeniedError("wrong passphrase for the keys file");
  }
  SecretString plaintext(ct_len);
  absl::Status opened =
      AesGcmDecrypt(derived->aes_key.view(), iv, header, ciphertext.data(),
                    ct_len, tag, plaintext.data());
  if (!opened.ok()) {
    return absl::DataLossError(
        "keys file was altered or corrupted: the passphrase is right but the "
        "contents do not authenticate");
  }
  ByteReader body(plaintext.view());
  uint32_t key_len = 0, secret_len = 0;
  absl::string_view key_der, secret;
  if (!body.ReadU32(&key_len) || !body.Take(key_len, &key_der) ||
      !body.ReadU32(&secret_len) || !body.Take(secret_len, &secret) ||
      body.remaining() != 0 || secret_len != kSealingSecretSize) {
    return absl::DataLossError("keys file holds a malformed key record");
  }
  auto key = SigningKey::FromPkcs8(key_der);
  if (!key.ok()) return absl::DataLossError(key.status().message());
  return HostKeys{std::move(key).value(), SecretString(std::string(secret))};
}

std::string KeysFilePath(const std::string& dir, absl::string_view basename) {
  return absl::StrCat(dir, "/", basename, "_keys");
}

std::string NameFilePath(const std::string& dir, absl::string_view basename) {
  return absl::StrCat(dir, "/", basename, "_name");
}

namespace {

// Loads the keys at `keys_path` and makes sure the name file beside them
// names their key (it is public and derived, so a missing or stale one, left
// by a crash or a lost creation race, is rewritten).
absl::StatusOr<HostKeys> LoadKeys(const KeyDirectoryOptions& options,
                                  absl::string_view file) {
  const std::string keys_path = KeysFilePath(options.dir, options.basename);
  auto loaded = DecryptHostKeys(file, options.passphrase);
  if (!loaded.ok()) {
    return absl::Status(
        loaded.status().code(),
        absl::StrCat(keys_path, ": ", loaded.status().message()));
  }
  const std::string name_path = NameFilePath(options.dir, options.basename);
  std::string name_text = absl::StrCat(
      Principal::ForKey(loaded->signing_key.verifying_key()).text(), "\n");
  auto on_disk = ReadFileToString(name_path, 1 << 16);
  if (!on_disk.ok() || *on_disk != name_text) {
    TAO_RETURN_IF_ERROR(WriteFileAtomically(name_path, name_text, 0644));
  }
  return loaded;
}

}  // namespace

absl::StatusOr<HostKeys> LoadOrCreateKeyDirectory(
    const KeyDirectoryOptions& options, bool* created) {
  if (options.dir.empty() || options.basename.empty()) {
    return absl::InvalidArgumentError(
        "a key directory needs a path and a basename");
  }
  if (options.passphrase.empty()) {
    return absl::InvalidArgumentError("the passphrase must not be empty");
  }
  const std::string keys_path = KeysFilePath(options.dir, options.basename);
  auto existing = ReadFileToString(keys_path, 1 << 20);
  if (existing.ok()) {
    *created = false;
    return LoadKeys(options, *existing);
  }
  if (!absl::IsNotFound(existing.status())) return existing.status();
  if (!options.create_if_missing) {
    return absl::NotFoundError(absl::StrCat("no keys at ", keys_path));
  }
  TAO_ASSIGN_OR_RETURN(HostKeys keys, HostKeys::Generate());
  TAO_ASSIGN_OR_RETURN(
      std::string encrypted,
      EncryptHostKeys(keys, options.passphrase, options.scrypt));
  TAO_RETURN_IF_ERROR(EnsureDirectory(options.dir, 0700));
  // Never replaces keys: if another process created them first, use theirs.
  absl::Status made = CreateFileAtomically(keys_path, encrypted, 0600);
  if (absl::IsAlreadyExists(made)) {
    TAO_ASSIGN_OR_RETURN(std::string theirs,
                         ReadFileToString(keys_path, 1 << 20));
    *created = false;
    return LoadKeys(options, theirs);
  }
  TAO_RETURN_IF_ERROR(made);
  TAO_RETURN_IF_ERROR(WriteFileAtomically(
      NameFilePath(options.dir, options.basename),
      absl::StrCat(Principal::ForKey(keys.signing_key.verifying_key()).text(),
                   "\n"),
      0644));
  *created = true;
  return keys;
}

}  // namespace tao
