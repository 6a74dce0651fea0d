// The copy-free encodings of Seal and Unseal (channels/wire_format.h), and
// TaoRequestHandler::HandleBulk against Handle: the bytes are ordinary
// TaoRequest / TaoResponse messages, ParseBulkRequest accepts only what
// means the same to protobuf, and both paths give the same answers.
#include "channels/wire_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>

#include "channels/framing.h"
#include "channels/tao_request_handler.h"
#include "channels/tao_rpc.pb.h"
#include "tao/clock.h"
#include "tao_domain/policy_io.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;

// The body of the single frame in `bytes` (header checked).
std::string Body(const std::string& bytes) {
  FrameReader reader(64 << 20);
  reader.Append(bytes);
  absl::string_view frame;
  auto ready = reader.Next(&frame);
  EXPECT_TRUE(ready.ok() && *ready) << "not one whole frame";
  EXPECT_EQ(reader.buffered(), 0u) << "bytes after the frame";
  return std::string(frame);
}

std::string Serialized(const TaoRequest& request) {
  std::string out;
  request.SerializeToString(&out);
  return out;
}

TEST(WireFormatTest, SealRequestHeadPlusDataIsATaoRequest) {
  for (uint64_t id : {uint64_t{0}, uint64_t{1}, uint64_t{300}, ~uint64_t{0}}) {
    for (std::string policy : {"", "SameMeasurement"}) {
      for (size_t size :
           {size_t{0}, size_t{1}, size_t{127}, size_t{128}, size_t{1} << 20}) {
        std::string data(size, 'd');
        TaoRequest request;
        ASSERT_TRUE(request.ParseFromString(
            Body(SealRequestHead(id, policy, size) + data)));
        EXPECT_EQ(request.id(), id);
        ASSERT_TRUE(request.has_seal());
        EXPECT_EQ(request.seal().policy(), policy);
        EXPECT_EQ(request.seal().data(), data);
      }
    }
  }
}

TEST(WireFormatTest, UnsealRequestHeadPlusBundleIsATaoRequest) {
  for (size_t size : {size_t{0}, size_t{72}, size_t{1} << 20}) {
    std::string bundle(size, 'b');
    TaoRequest request;
    ASSERT_TRUE(
        request.ParseFromString(Body(UnsealRequestHead(7, size) + bundle)));
    EXPECT_EQ(request.id(), 7u);
    ASSERT_TRUE(request.has_unseal());
    EXPECT_EQ(request.unseal().bundle(), bundle);
  }
}

TEST(WireFormatTest, ParsesWhatProtobufWrites) {
  TaoRequest seal;
  seal.set_id(42);
  seal.mutable_seal()->set_data(std::string(1000, 'x'));
  seal.mutable_seal()->set_policy("SameProgram");
  // Views point into the frame: keep it alive.
  const std::string seal_bytes = Serialized(seal);
  auto view = ParseBulkRequest(seal_bytes);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->kind, BulkRequestView::Kind::kSeal);
  EXPECT_EQ(view->id, 42u);
  EXPECT_EQ(view->data, seal.seal().data());
  EXPECT_EQ(view->policy, "SameProgram");

  TaoRequest unseal;
  unseal.mutable_unseal()->set_bundle("bundle bytes");
  const std::string unseal_bytes = Serialized(unseal);
  view = ParseBulkRequest(unseal_bytes);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->kind, BulkRequestView::Kind::kUnseal);
  EXPECT_EQ(view->id, 0u);
  EXPECT_EQ(view->data, "bundle bytes");

  TaoRequest empty_seal;
  empty_seal.mutable_seal();
  const std::string empty_bytes = Serialized(empty_seal);
  view = ParseBulkRequest(empty_bytes);
  ASSERT_TRUE(view.has_value());
  EXPECT_TRUE(view->data.empty() && view->policy.empty());
}

TEST(WireFormatTest, LeavesEverythingElseToProtobuf) {
  TaoRequest other;
  other.set_id(1);
  other.mutable_get_random_bytes()->set_size(32);
  EXPECT_FALSE(ParseBulkRequest(Serialized(other)).has_value())
      << "another method";
  EXPECT_FALSE(ParseBulkRequest("").has_value()) << "no method";
  const std::string seal = Body(SealRequestHead(5, "", 3) + "abc");
  EXPECT_TRUE(ParseBulkRequest(seal).has_value());
  // id twice (protobuf: the last wins), seal twice (protobuf: merged).
  EXPECT_FALSE(ParseBulkRequest(std::string("\x08\x01", 2) + seal).has_value());
  EXPECT_FALSE(ParseBulkRequest(seal + seal.substr(2)).has_value());
  // data twice inside SealArgs.
  EXPECT_FALSE(ParseBulkRequest(std::string("\x3a\x06\x0a\x01x\x0a\x01y", 8))
                   .has_value());
  // A field the schema does not have, inside and outside.
  EXPECT_FALSE(ParseBulkRequest(seal + std::string("\x78\x01", 2)).has_value());
  EXPECT_FALSE(
      ParseBulkRequest(std::string("\x3a\x02\x18\x01", 4)).has_value());
  // The id with the wrong wire type (protobuf keeps it as an unknown field).
  EXPECT_FALSE(
      ParseBulkRequest(std::string("\x0a\x00\x3a\x00", 4)).has_value());
  // Seal and Unseal both (a oneof: protobuf keeps the last).
  EXPECT_FALSE(
      ParseBulkRequest(std::string("\x3a\x00\x42\x00", 4)).has_value());
  // Truncated anywhere, and lengths past the end.
  for (size_t cut = 0; cut < seal.size(); ++cut) {
    EXPECT_FALSE(ParseBulkRequest(seal.substr(0, cut)).has_value()) << cut;
  }
  EXPECT_FALSE(ParseBulkRequest(std::string("\x3a\x7f", 2)).has_value());
  // An id varint of 11 bytes, and a tenth byte that overflows 64 bits.
  EXPECT_FALSE(ParseBulkRequest(std::string("\x08") + std::string(10, '\x80') +
                                std::string("\x01\x3a\x00", 3))
                   .has_value());
  EXPECT_FALSE(ParseBulkRequest(std::string("\x08") + std::string(9, '\xff') +
                                std::string("\x02\x3a\x00", 3))
                   .has_value());
}

TEST(WireFormatTest, AcceptedMutantsMeanWhatProtobufReads) {
  // Random byte flips, insertions and cuts of valid frames: whenever the
  // fast parser accepts, protobuf parses the same request.
  std::mt19937 rng(20261122);
  const std::string seeds[] = {
      Body(SealRequestHead(9, "SameProgram", 5) + "hello"),
      Body(UnsealRequestHead(300, 4) + "TAOS")};
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string frame = seeds[i % 2];
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !frame.empty(); ++e) {
      size_t at = rng() % frame.size();
      switch (rng() % 3) {
        case 0:
          frame[at] = static_cast<char>(rng());
          break;
        case 1:
          frame.insert(at, 1, static_cast<char>(rng()));
          break;
        default:
          frame.erase(at, 1);
      }
    }
    auto view = ParseBulkRequest(frame);
    if (!view.has_value()) continue;
    ++accepted;
    TaoRequest request;
    ASSERT_TRUE(request.ParseFromString(frame)) << i;
    EXPECT_EQ(request.id(), view->id) << i;
    if (view->kind == BulkRequestView::Kind::kSeal) {
      ASSERT_TRUE(request.has_seal()) << i;
      EXPECT_EQ(request.seal().data(), view->data) << i;
      EXPECT_EQ(request.seal().policy(), view->policy) << i;
    } else {
      ASSERT_TRUE(request.has_unseal()) << i;
      EXPECT_EQ(request.unseal().bundle(), view->data) << i;
    }
  }
  EXPECT_GT(accepted, 100) << "the mutants hardly ever hit the fast path";
}

TEST(WireFormatTest, ResponseHeadsPlusDataAreTaoResponses) {
  for (size_t size : {size_t{0}, size_t{5}, size_t{200}, size_t{1} << 20}) {
    const std::string data(size, 'r');
    std::string out = "previous frame";
    AppendDataResponseHead(77, size, &out);
    out += data;
    std::string bytes = out.substr(14);
    EXPECT_EQ(bytes.size(), kFrameHeaderSize + DataResponseSize(77, size));
    TaoResponse response;
    ASSERT_TRUE(response.ParseFromString(Body(bytes)));
    EXPECT_EQ(response.id(), 77u);
    EXPECT_EQ(response.code(), 0);
    EXPECT_EQ(response.result_case(), TaoResponse::kData);
    EXPECT_EQ(response.data(), data);

    std::string unseal;
    AppendUnsealResponseHead(78, size % 2 ? "SameProgram" : "", "key(x)", size,
                             &unseal);
    unseal += data;
    EXPECT_EQ(
        unseal.size(),
        kFrameHeaderSize + UnsealResponseSize(78, size % 2 ? 11 : 0, 6, size));
    ASSERT_TRUE(response.ParseFromString(Body(unseal)));
    EXPECT_EQ(response.id(), 78u);
    ASSERT_TRUE(response.has_unsealed());
    EXPECT_EQ(response.unsealed().data(), data);
    EXPECT_EQ(response.unsealed().policy(), size % 2 ? "SameProgram" : "");
    EXPECT_EQ(response.unsealed().sealer(), "key(x)");
  }
}

// HandleBulk against Handle, with a real host and a signed domain policy.
class HandleBulkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(HostKeys keys, HostKeys::Generate());
    Principal host_name = Principal::ForKey(keys.signing_key.verifying_key());
    ASSERT_OK_AND_ASSIGN(
        host_, TaoHost::Create(std::move(keys), host_name, std::nullopt));
    ASSERT_OK_AND_ASSIGN(Subprincipal program,
                         Subprincipal::Program(std::string(32, 'p')));
    ASSERT_OK_AND_ASSIGN(Principal alice, host_->name().Extend(program));
    alice_ = alice;
    ASSERT_OK_AND_ASSIGN(Subprincipal other,
                         Subprincipal::Program(std::string(32, 'q')));
    ASSERT_OK_AND_ASSIGN(Principal bob, host_->name().Extend(other));
    bob_ = bob;
    ASSERT_OK_AND_ASSIGN(SigningKey policy_key, SigningKey::Generate());
    DomainPolicy policy;
    policy.set_domain_name("test");
    Rule* rule = policy.add_rules();
    rule->set_id("alice-only");
    rule->add_operations("Seal");
    rule->add_operations("Unseal");
    rule->add_principals()->set_exact_name(alice_->text());
    ASSERT_OK_AND_ASSIGN(std::string signed_policy,
                         SignDomainPolicy(policy, policy_key));
    ASSERT_OK_AND_ASSIGN(
        domain_, TaoDomain::Create(policy_key.verifying_key(), signed_policy,
                                   nullptr, clock_));
    handler_ = std::make_unique<TaoRequestHandler>(*host_, *domain_);
  }

  // Both paths' answers to `frame` from `name`.
  std::pair<TaoResponse, TaoResponse> Answers(const std::string& frame,
                                              const Principal& name,
                                              size_t cap = 16 << 20) {
    auto view = ParseBulkRequest(frame);
    EXPECT_TRUE(view.has_value());
    std::string out = "earlier";
    absl::StatusCode code = handler_->HandleBulk(*view, name, cap, &out);
    EXPECT_EQ(out.substr(0, 7), "earlier")
        << "HandleBulk touched what was there";
    TaoResponse bulk;
    EXPECT_TRUE(bulk.ParseFromString(Body(out.substr(7))));
    EXPECT_EQ(static_cast<int>(code), bulk.code());
    TaoRequest request;
    EXPECT_TRUE(request.ParseFromString(frame));
    Principal same = name;
    return {handler_->Handle(request, &same), bulk};
  }

  RealClock clock_;
  std::unique_ptr<TaoHost> host_;
  std::unique_ptr<TaoDomain> domain_;
  std::unique_ptr<TaoRequestHandler> handler_;
  std::optional<Principal> alice_, bob_;
};

TEST_F(HandleBulkTest, SealsAndUnsealsLikeHandle) {
  const std::string secret(100000, 's');
  auto [reference, bulk] =
      Answers(Body(SealRequestHead(3, "", secret.size()) + secret), *alice_);
  ASSERT_EQ(bulk.code(), 0) << bulk.message();
  EXPECT_EQ(reference.code(), 0);
  EXPECT_EQ(bulk.id(), 3u);
  EXPECT_EQ(bulk.data().size(), reference.data().size());
  ASSERT_OK_AND_ASSIGN(Unsealed opened, host_->Decrypt(bulk.data()));
  EXPECT_EQ(opened.data.view(), secret);
  EXPECT_EQ(opened.policy, "SameProgram");
  EXPECT_EQ(opened.sealer, *alice_);

  // Both paths unseal either path's bundle, with the same answer.
  for (const std::string& bundle : {bulk.data(), reference.data()}) {
    auto [ref_unseal, bulk_unseal] =
        Answers(Body(UnsealRequestHead(4, bundle.size()) + bundle), *alice_);
    ASSERT_EQ(bulk_unseal.code(), 0) << bulk_unseal.message();
    EXPECT_EQ(bulk_unseal.unsealed().data(), secret);
    EXPECT_EQ(bulk_unseal.unsealed().data(), ref_unseal.unsealed().data());
    EXPECT_EQ(bulk_unseal.unsealed().policy(), ref_unseal.unsealed().policy());
    EXPECT_EQ(bulk_unseal.unsealed().sealer(), ref_unseal.unsealed().sealer());
  }
}

TEST_F(HandleBulkTest, RefusesLikeHandle) {
  // Bob may not seal; nor unseal Alice's SameProgram bundle.
  auto [ref_seal, bulk_seal] =
      Answers(Body(SealRequestHead(5, "", 3) + "abc"), *bob_);
  EXPECT_EQ(bulk_seal.code(),
            static_cast<int>(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(bulk_seal.message(), ref_seal.message());
  EXPECT_FALSE(bulk_seal.has_data());

  ASSERT_OK_AND_ASSIGN(std::string bundle,
                       host_->Encrypt("alice's", "SameProgram", *alice_));
  auto [ref_unseal, bulk_unseal] =
      Answers(Body(UnsealRequestHead(6, bundle.size()) + bundle), *bob_);
  EXPECT_EQ(bulk_unseal.code(),
            static_cast<int>(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(bulk_unseal.message(), ref_unseal.message());
  EXPECT_FALSE(bulk_unseal.has_unsealed())
      << "a denied unseal carries no plaintext";

  // A tampered bundle, a malformed one, a policy that does not decode.
  std::string tampered = bundle;
  tampered[tampered.size() - 20] ^= 1;
  for (const std::string& bad :
       {tampered, std::string("TAOS"), bundle.substr(1)}) {
    auto [ref, got] =
        Answers(Body(UnsealRequestHead(7, bad.size()) + bad), *alice_);
    EXPECT_NE(got.code(), 0);
    EXPECT_EQ(got.code(), ref.code());
    EXPECT_EQ(got.message(), ref.message());
  }
  auto [ref_policy, bulk_policy] =
      Answers(Body(SealRequestHead(8, "NotAPolicy", 1) + "x"), *alice_);
  EXPECT_EQ(bulk_policy.code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(bulk_policy.code(), ref_policy.code());
}

TEST_F(HandleBulkTest, AResponseOverTheFrameCapIsResourceExhausted) {
  const std::string data(1000, 'x');
  auto view =
      ParseBulkRequest(Body(SealRequestHead(9, "", data.size()) + data));
  ASSERT_TRUE(view.has_value());
  std::string out;
  EXPECT_EQ(handler_->HandleBulk(*view, *alice_, 1000, &out),
            absl::StatusCode::kResourceExhausted);
  TaoResponse response;
  ASSERT_TRUE(response.ParseFromString(Body(out)));
  EXPECT_EQ(response.id(), 9u);
  EXPECT_THAT(response.message(), ::testing::HasSubstr("frame cap"));
}

}  // namespace
}  // namespace tao
