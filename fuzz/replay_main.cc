// Runs a fuzz target's LLVMFuzzerTestOneInput over every file in the given
// directories (seed corpus and regression inputs), so the normal test suite
// replays them in every build, sanitizers included. Prints
// "N passed, 0 failed"; a crash fails the test.
#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  int replayed = 0;
  for (int i = 1; i < argc; ++i) {
    DIR* dir = opendir(argv[i]);
    if (dir == nullptr) continue;  // a target may have no regressions yet
    std::vector<std::string> files;
    while (struct dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.')
        files.push_back(std::string(argv[i]) + "/" + entry->d_name);
    }
    closedir(dir);
    for (const std::string& file : files) {
      std::ifstream in(file, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                             bytes.size());
      ++replayed;
    }
  }
  if (replayed == 0) {
    std::fprintf(stderr, "no inputs found\n");
    return 1;
  }
  std::printf("%d passed, 0 failed\n", replayed);
  return 0;
}
