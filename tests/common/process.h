#pragma once
// Runs a child process (no shell) and captures its exit status, stdout and stderr.
#include <string>
#include <vector>

namespace ridge::test {

struct ProcessResult {
  int exit_code = -1;    // valid when !signaled
  bool signaled = false; // killed by a signal (a crash)
  int signal = 0;
  std::string out, err;
};

// Full path of an executable found on $PATH, or "" when there is none.
std::string find_program(const std::string& name);

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_text = "");

}  // namespace ridge::test
