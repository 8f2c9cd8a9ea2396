// `make scale`: the scale harness (scale_run.h) as a program. Prints each figure as
// `name value unit` on stdout, as `make bench` does, and notes, missed deadlines and failed
// limits on stderr. Exit status: 0 when every phase finished (and, with --check, every limit of
// issue 23 held), 1 otherwise, 2 for bad arguments or when namespaces cannot be made here, 130
// when interrupted (after cleaning up).
#include <signal.h>

#include <atomic>
#include <iostream>
#include <string>

#include "tests/scale/scale_run.h"

namespace {

std::atomic<bool> g_interrupted{false};

void on_signal(int) {
  g_interrupted = true;
}

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaction(signal, &action, nullptr);
}

int usage(const char* program) {
  std::cerr << "usage: " << program
            << " [--nodes N] [--idle-settle-s S] [--idle-window-s S] [--parallel K] [--check]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  sotto::test::ScaleOptions options;
  bool check = false;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      auto number = [&] {
        if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
        return std::stoi(argv[++i]);
      };
      if (arg == "--nodes") {
        options.nodes = number();
      } else if (arg == "--idle-settle-s") {
        options.idle_settle = std::chrono::seconds(number());
      } else if (arg == "--idle-window-s") {
        options.idle_window = std::chrono::seconds(number());
      } else if (arg == "--parallel") {
        options.parallel = number();
      } else if (arg == "--check") {
        check = true;
      } else {
        return usage(argv[0]);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return usage(argv[0]);
  }
  if (options.nodes < 2 || options.nodes > 200) {
    std::cerr << "--nodes: 2 to 200 (the lab's /24)\n";
    return 2;
  }
  install_signal_handlers();
  options.interrupted = &g_interrupted;
  options.note = [](const std::string& line) { std::cerr << line << std::endl; };
  options.on_figure = [](const sotto::test::ScaleFigure& f) {
    std::cout << f.name << " " << sotto::test::format_value(f.value) << " " << f.unit << std::endl;
  };
  try {
    std::string why_not;
    const auto report = sotto::test::run_scale(options, why_not);
    if (!report) {
      std::cerr << "scale: cannot run here: " << why_not << "\n";
      return 2;
    }
    int status = report->missed.empty() ? 0 : 1;
    if (check) {
      const auto failures = sotto::test::threshold_failures(*report, options.nodes);
      for (const auto& failure : failures) std::cerr << "scale: FAIL " << failure << "\n";
      if (failures.empty()) std::cerr << "scale: every limit of issue 23 held\n";
      if (!failures.empty()) status = 1;
    }
    return status;
  } catch (const sotto::test::ScaleInterrupted&) {
    std::cerr << "scale: interrupted; daemons, namespaces and profiles cleaned up\n";
    return 130;
  } catch (const std::exception& e) {
    std::cerr << "scale: " << e.what() << "\n";
    return 1;
  }
}
