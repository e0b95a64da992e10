#ifndef SSERPC_TESTS_TESTING_PROCESS_H_
#define SSERPC_TESTS_TESTING_PROCESS_H_

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace sserpc::testing {

// A child process for tests of the command-line programs: argv[0] is the
// binary's path; `input` is written to its stdin, which is then closed;
// stdout and stderr are captured separately. Killed if still running when
// destroyed. Outputs are small: Finish() reads stdout, then stderr.
class Process {
 public:
  explicit Process(std::vector<std::string> argv, const std::string& input = "") {
    int in[2], out[2], err[2];
    if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
      std::vector<char*> args;
      for (std::string& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (!input.empty()) {
      ssize_t ignored = write(in[1], input.data(), input.size());
      (void)ignored;
    }
    close(in[1]);
    out_ = fdopen(out[0], "r");
    err_ = fdopen(err[0], "r");
  }
  ~Process() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (out_ != nullptr) fclose(out_);
    if (err_ != nullptr) fclose(err_);
  }

  // Next line of stdout ("" at its end).
  std::string Line() {
    char buf[8192];
    if (out_ == nullptr || fgets(buf, sizeof(buf), out_) == nullptr) return "";
    return buf;
  }
  // Reads stdout and stderr to their ends, then waits; returns the exit code
  // (negative signal number if killed).
  int Finish() {
    stdout_ += ReadAll(out_);
    stderr_ += ReadAll(err_);
    return Wait();
  }
  void Signal(int sig) { kill(pid_, sig); }
  const std::string& out() const { return stdout_; }
  const std::string& err() const { return stderr_; }

 private:
  static std::string ReadAll(FILE* f) {
    std::string all;
    char buf[4096];
    size_t n;
    while (f != nullptr && (n = fread(buf, 1, sizeof(buf), f)) > 0) all.append(buf, n);
    return all;
  }
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  FILE* err_ = nullptr;
  bool exited_ = false;
  std::string stdout_;
  std::string stderr_;
};

}  // namespace sserpc::testing

#endif  // SSERPC_TESTS_TESTING_PROCESS_H_
