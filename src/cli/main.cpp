#include "sotto/base/process.h"
#include "src/cli/app.h"

int main(int argc, char** argv) {
  sotto::harden_process();
  return sotto::cli::run(argc, argv);
}
