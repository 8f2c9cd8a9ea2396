#include "sotto/base/process.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

namespace sotto {

void harden_process() {
  struct rlimit no_core {};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct rlimit files {};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  // Everything sotto creates (profile, database, control socket) is for its owner only.
  umask(077);
}

}  // namespace sotto
