// UniqueFd: a move-only owner of one file descriptor, closed on destruction.
// The invalid value is -1, as in Chromium's base::ScopedFD. Thread-compatible.
#ifndef TAO_TAO_UNIQUE_FD_H_
#define TAO_TAO_UNIQUE_FD_H_

namespace tao {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }

  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership and returns the descriptor.
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the owned descriptor (errors are ignored: close() must not be
  // retried on Linux) and takes `fd`.
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

}  // namespace tao

#endif  // TAO_TAO_UNIQUE_FD_H_
