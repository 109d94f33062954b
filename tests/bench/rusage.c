/* rusage: run a command and report what it cost, for the data-path
 * benchmark (tests/bench/bench_datapath.sh).
 *
 * usage: rusage OUTFILE COMMAND [ARG...]
 *
 * Forks, execs COMMAND with the same standard input, output and error, and
 * waits for it with wait4(2), which gives the resources of that one child
 * (not of the shell around it, not of other pipeline members). Then writes
 * one line to OUTFILE:
 *
 *   WALL USER SYS MAXRSS
 *
 * wall-clock seconds (CLOCK_MONOTONIC, from just before fork to the end of
 * the wait), user and system CPU seconds, and peak resident set in KiB
 * (ru_maxrss). OUTFILE is written even when the command fails, so the
 * caller may still read it; rusage exits with the command's exit status,
 * 128 + N if a signal N ended it, 127 if it could not be started.
 *
 * Why not /usr/bin/time: the package `time` is not one the project
 * installs (scripts/install-deps.sh), and its output format differs
 * between the GNU and the shell builtin versions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double tv_seconds(struct timeval tv) {
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double mono_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The exit status a shell would give for the child's wait status. */
static int shell_status(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: rusage OUTFILE COMMAND [ARG...]\n");
    return 2;
  }
  const char *outfile = argv[1];
  double t0 = mono_seconds();
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "rusage: fork: %s\n", strerror(errno));
    return 127;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    fprintf(stderr, "rusage: cannot run %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "rusage: wait4: %s\n", strerror(errno));
      return 127;
    }
  }
  double wall = mono_seconds() - t0;
  FILE *out = fopen(outfile, "w");
  if (!out) {
    fprintf(stderr, "rusage: cannot write %s: %s\n", outfile,
            strerror(errno));
    return 127;
  }
  fprintf(out, "%.6f %.6f %.6f %ld\n", wall, tv_seconds(ru.ru_utime),
          tv_seconds(ru.ru_stime), ru.ru_maxrss);
  if (fclose(out) != 0) {
    fprintf(stderr, "rusage: cannot write %s: %s\n", outfile,
            strerror(errno));
    return 127;
  }
  return shell_status(status);
}
