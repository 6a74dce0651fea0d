// exit-child: a hosted program that exits at once with the code it is given
// (default 0). As small and quick to start as a program can be: the leak test
// launches it a thousand times.
#include <cstdlib>

int main(int argc, char** argv) { return argc > 1 ? std::atoi(argv[1]) : 0; }
