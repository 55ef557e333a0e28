/* process.c — the exec activity's child processes: one attempt is a child started with
 * posix_spawn in a process group of its own, JSON on stdin, one JSON value on stdout,
 * stderr to the step's log, and its exit observed on the job's libuv loop.
 */
#define _GNU_SOURCE /* pipe2, posix_spawn_file_actions_addchdir_np */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wf/wf.h"
#include "wfact.h"
#include "wfmp.h"
#include "process_int.h"
#include "loopreg.h"

#define EXEC_TAIL 4096
#define EXEC_LOG_CAP ((size_t)64 << 20)
#define EXEC_CHUNK 65536
#define EXEC_DRAIN_MS 2000
#define EXEC_POLL_MS 200
#define EXEC_NHANDLES 5 /* in, out, err, grace, drain */

typedef struct exec_loop exec_loop;
typedef struct exec_proc exec_proc;

/* libuv reaps only what uv_spawn started, so each loop running exec jobs gets one
 * SIGCHLD watcher (plus a slow poll in case a signal is lost) that waits for exactly
 * the pids it started. It lives while any of its children is unreaped. */
struct exec_loop {
  wfa_loop_entry link; /* first: the registry's entry is the exec_loop */
  uv_signal_t sigchld;
  uv_timer_t poll;
  exec_proc *procs;
  int nhandles;
};
_Static_assert(offsetof(exec_loop, link) == 0, "an exec_loop is its registry entry");

struct exec_proc {
  wfi_job *job;
  exec_loop *el; /* until reaped */
  exec_proc *next;
  pid_t pid;
  int reaped, status_known, wstatus;
  int killed, oversize, oom;
  int out_eof, err_eof, drained, finishing;
  int nhandles;
  uv_pipe_t in, out, err;
  uv_timer_t grace, drain;
  uv_write_t wreq;
  char **argv;
  char *stdin_json;
  size_t stdin_len;
  char *out_buf;
  size_t out_len, out_cap, out_lim;
  int log_fd, log_cut;
  int log_opened;          /* the log is opened on the first stderr byte */
  size_t logged;
  size_t tail_len;
  char tail[EXEC_TAIL];
  wfi_result res;
  char scratch[EXEC_CHUNK];
};

static wfa_loop_registry loops = WFA_LOOP_REGISTRY_INIT;

static void proc_reaped(exec_proc *p, int wstatus, int known);

/* ---- per-loop child watcher ------------------------------------------------------ */

static void loop_handle_closed(uv_handle_t *h) {
  exec_loop *el = h->data;

  if (--el->nhandles == 0)
    free(el);
}

static void loop_reap(exec_loop *el) {
  exec_proc *p, *next;
  int st;

  for (p = el->procs; p; p = next) {
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    next = p->next;
    if (r == p->pid)
      proc_reaped(p, st, 1);
    else if (r < 0 && errno == ECHILD) /* reaped by someone else's waitpid(-1) */
      proc_reaped(p, 0, 0);
  }
}

static void on_sigchld(uv_signal_t *h, int sig) {
  (void)sig;
  loop_reap(h->data);
}

static void on_poll(uv_timer_t *h) { loop_reap(h->data); }

static void loop_close(exec_loop *el) {
  wfa_loop_remove(&loops, &el->link);
  uv_close((uv_handle_t *)&el->poll, loop_handle_closed);
  if (el->nhandles == 2)
    uv_close((uv_handle_t *)&el->sigchld, loop_handle_closed);
}

static int loop_get(uv_loop_t *loop, exec_loop **out) {
  exec_loop *el;
  int rc;

  if ((*out = (exec_loop *)wfa_loop_find(&loops, loop)))
    return 0;
  if (!(el = calloc(1, sizeof *el)))
    return UV_ENOMEM;
  uv_timer_init(loop, &el->poll);
  el->poll.data = el;
  el->nhandles = 1;
  wfa_loop_add(&loops, &el->link, loop);
  if ((rc = uv_signal_init(loop, &el->sigchld))) {
    loop_close(el);
    return rc;
  }
  el->sigchld.data = el;
  el->nhandles = 2;
  if ((rc = uv_signal_start(&el->sigchld, on_sigchld, SIGCHLD))) {
    loop_close(el);
    return rc;
  }
  uv_timer_start(&el->poll, on_poll, EXEC_POLL_MS, EXEC_POLL_MS);
  *out = el;
  return 0;
}

static void loop_remove(exec_proc *p) {
  exec_loop *el = p->el;
  exec_proc **pp;

  for (pp = &el->procs; *pp; pp = &(*pp)->next)
    if (*pp == p) {
      *pp = p->next;
      break;
    }
  p->el = NULL;
  if (!el->procs)
    loop_close(el);
}

/* ---- output, log and result --------------------------------------------------- */

static void log_write(exec_proc *p, const char *s, size_t n) {
  while (p->log_fd >= 0 && n > 0) {
    ssize_t w = write(p->log_fd, s, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) { /* disk trouble: keep the tail, stop logging */
      close(p->log_fd);
      p->log_fd = -1;
      return;
    }
    s += w;
    n -= (size_t)w;
  }
}

/* Open the step's log and write the attempt's header. Called on the first stderr
 * byte: a step that writes nothing to stderr costs no file (creating one per step is a
 * measurable share of a short step's cost). If it cannot be opened, the tail is still
 * kept in the step record. */
static void open_log(exec_proc *p) {
  char head[96];
  struct tm tm;
  time_t now = time(NULL);

  p->log_opened = 1;
  if (!p->job->log_path)
    return;
  p->log_fd = open(p->job->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (p->log_fd < 0)
    return;
  gmtime_r(&now, &tm);
  snprintf(head, sizeof head, "--- attempt %u ", (unsigned)p->job->attempt);
  strftime(head + strlen(head), sizeof head - strlen(head), "%Y-%m-%dT%H:%M:%SZ\n", &tm);
  log_write(p, head, strlen(head));
}

static void stderr_data(exec_proc *p, const char *s, size_t n) {
  size_t room = EXEC_LOG_CAP - p->logged, keep;

  if (!p->log_opened)
    open_log(p);
  if (!p->log_cut) {
    log_write(p, s, n < room ? n : room);
    p->logged += n < room ? n : room;
    if (n > room) {
      static const char cut[] = "\n[wf: log truncated after 64 MiB]\n";
      log_write(p, cut, sizeof cut - 1);
      p->log_cut = 1;
    }
  }
  if (n >= EXEC_TAIL) {
    memcpy(p->tail, s + n - EXEC_TAIL, EXEC_TAIL);
    p->tail_len = EXEC_TAIL;
    return;
  }
  keep = p->tail_len + n > EXEC_TAIL ? EXEC_TAIL - n : p->tail_len;
  memmove(p->tail, p->tail + p->tail_len - keep, keep);
  memcpy(p->tail + keep, s, n);
  p->tail_len = keep + n;
}

static const char *signame(int sig) {
#define SIG_NAME(s) {s, #s}
  static const struct { int sig; const char *name; } names[] = {
      SIG_NAME(SIGHUP),  SIG_NAME(SIGINT),  SIG_NAME(SIGQUIT), SIG_NAME(SIGILL),
      SIG_NAME(SIGTRAP), SIG_NAME(SIGABRT), SIG_NAME(SIGBUS),  SIG_NAME(SIGFPE),
      SIG_NAME(SIGKILL), SIG_NAME(SIGUSR1), SIG_NAME(SIGSEGV), SIG_NAME(SIGUSR2),
      SIG_NAME(SIGPIPE), SIG_NAME(SIGALRM), SIG_NAME(SIGTERM), SIG_NAME(SIGXCPU),
      SIG_NAME(SIGXFSZ), SIG_NAME(SIGSYS)};
#undef SIG_NAME
  size_t i;

  for (i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i].sig == sig)
      return names[i].name;
  return NULL;
}

static char *msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *msg(const char *fmt, ...) {
  char buf[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return strdup(buf);
}

/* Why stdout cannot be taken as the output, for the messages below. */
static char *text_fault_msg(const wfa_text_fault *f) {
  char where[200];
  wfa_text_fault_where(f, where, sizeof where);
  switch (f->kind) {
  case WFM_FAULT_DEPTH:
    return msg("stdout JSON nests deeper than %d levels at %s: wf takes values at most %d "
               "levels deep, so that every record holding one can be read back",
               WFM_MAX_VALUE_DEPTH, where, WFM_MAX_VALUE_DEPTH);
  case WFM_FAULT_NUL:
    return msg("stdout JSON has a NUL character (\\u0000) at %s: a string cannot hold it "
               "without being cut short there; leave it out, or encode the data (e.g. "
               "base64)", where);
  default:
    return msg("stdout is not valid UTF-8 at %s: JSON text must be UTF-8; print other "
               "bytes escaped (\\uXXXX) or encoded (e.g. base64)", where);
  }
}

/* The start of stdout for a message: at most 80 bytes, whole UTF-8 characters only,
 * control characters as spaces and bytes that are not UTF-8 as '?'. */
static void excerpt(char *s, size_t n, size_t *cut) {
  size_t i, k = n < 80 ? n : 80;
  for (; k < n && k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80; k--)
    ;
  for (i = 0; i < k;) {
    size_t ok = wfm_utf8_check(s + i, k - i);
    for (; ok > 0; ok--, i++)
      if ((unsigned char)s[i] < 0x20)
        s[i] = ' ';
    if (i < k)
      s[i++] = '?';
  }
  while (k > 0 && s[k - 1] == ' ')
    k--;
  *cut = k;
}

static void parse_output(exec_proc *p, wfi_result *res) {
  const char *s = p->out_buf, *end = NULL;
  size_t n = p->out_len, i, pos, cut, line = 1, col = 1;
  wfa_text_fault f;
  cJSON *j = NULL;
  int rc;

  for (i = 0; i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'); i++)
    ;
  if (i == n) { /* empty or whitespace: nil */
    res->ok = 1;
    return;
  }
  /* cJSON wants the terminating NUL inside the length; a NUL in stdout is an error */
  p->out_buf[n] = 0;
  if (!memchr(s, 0, n)) {
    if (wfa_json_text_check(s, n, WFM_MAX_VALUE_DEPTH, &f) != 0) {
      res->error = text_fault_msg(&f);
      return;
    }
    j = cJSON_ParseWithLengthOpts(s, n + 1, &end, 1);
  }
  if (!j) {
    pos = memchr(s, 0, n) ? (size_t)((const char *)memchr(s, 0, n) - s)
                          : end ? (size_t)(end - s) : 0;
    for (i = 0; i < pos && i < n; i++, col++)
      if (s[i] == '\n')
        line++, col = 0;
    excerpt(p->out_buf, n, &cut);
    res->error = msg("stdout is not JSON (line %zu, column %zu): %.*s", line, col, (int)cut, s);
    return;
  }
  rc = wfa_json_to_mp_buf(j, &res->output, &res->output_len);
  cJSON_Delete(j);
  if (rc == WF_EINVAL) /* the scan above has seen the depth: this is not expected */
    res->error = msg("stdout JSON nests deeper than %d levels", WFM_MAX_VALUE_DEPTH);
  else if (rc)
    res->retryable = 1, res->error = msg("out of memory converting stdout");
  res->ok = !rc;
}

static void build_result(exec_proc *p) {
  wfi_result *res = &p->res;
  int sig = 0;

  wfa_result_init(res);
  if (p->tail_len && (res->stderr_tail = malloc(p->tail_len + 1))) {
    memcpy(res->stderr_tail, p->tail, p->tail_len);
    res->stderr_tail[p->tail_len] = 0;
  }
  if (p->status_known && WIFEXITED(p->wstatus))
    res->exit_code = WEXITSTATUS(p->wstatus);
  else if (p->status_known && WIFSIGNALED(p->wstatus))
    res->exit_code = 128 + (sig = WTERMSIG(p->wstatus));
  res->retryable = 1;
  if (p->oversize)
    res->retryable = 0, res->error = msg("output exceeds %zu bytes", p->job->max_output);
  else if (p->oom)
    res->error = msg("out of memory collecting stdout");
  else if (!p->status_known)
    res->error = msg("exit status lost (the child was reaped elsewhere)");
  else if (sig && signame(sig))
    res->error = msg("killed by signal %s", signame(sig));
  else if (sig)
    res->error = msg("killed by signal %d", sig);
  else if (res->exit_code != 0)
    res->error = msg("exited with code %d", (int)res->exit_code);
  else
    res->retryable = 0, parse_output(p, res);
}

/* ---- process lifecycle ---------------------------------------------------------- */

static void proc_free(exec_proc *p) {
  if (!p)
    return;
  wfa_exec_argv_free(p->argv);
  free(p->stdin_json);
  free(p->out_buf);
  if (p->log_fd >= 0)
    close(p->log_fd);
  free(p);
}

static void on_handle_closed(uv_handle_t *h) {
  exec_proc *p = h->data;
  wfi_job *job = p->job;
  wfi_result res;

  if (--p->nhandles > 0 || !p->finishing)
    return;
  res = p->res;
  proc_free(p);
  job->act_state = NULL;
  wfi_job_done(job, &res);
}

static void close_handle(exec_proc *p, void *h) {
  (void)p;
  if (!uv_is_closing(h))
    uv_close(h, on_handle_closed);
}

static void maybe_finish(exec_proc *p) {
  if (p->finishing || !p->reaped || (!(p->out_eof && p->err_eof) && !p->drained))
    return;
  p->finishing = 1;
  build_result(p);
  close_handle(p, &p->in);
  close_handle(p, &p->out);
  close_handle(p, &p->err);
  close_handle(p, &p->grace);
  close_handle(p, &p->drain);
}

static void on_drain(uv_timer_t *t) {
  exec_proc *p = t->data;

  p->drained = 1;
  maybe_finish(p);
}

static void proc_reaped(exec_proc *p, int wstatus, int known) {
  p->reaped = 1;
  p->status_known = known;
  p->wstatus = wstatus;
  loop_remove(p);
  /* members of a killed group that ignore SIGTERM must not outlive the attempt */
  if (p->killed)
    kill(-p->pid, SIGKILL);
  uv_timer_stop(&p->grace);
  if (!(p->out_eof && p->err_eof))
    uv_timer_start(&p->drain, on_drain, EXEC_DRAIN_MS, 0);
  maybe_finish(p);
}

static void group_kill(exec_proc *p) {
  p->killed = 1;
  kill(-p->pid, SIGKILL);
}

static void on_grace(uv_timer_t *t) {
  exec_proc *p = t->data;

  if (!p->reaped)
    kill(-p->pid, SIGKILL);
}

static void out_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  exec_proc *p = h->data;
  size_t room = p->out_cap ? p->out_cap - 1 - p->out_len : 0;

  (void)suggested;
  if (!p->oversize && !p->oom && room < EXEC_CHUNK / 4 && p->out_cap < p->out_lim) {
    size_t cap = p->out_cap ? p->out_cap * 2 : 16384;
    char *nb = realloc(p->out_buf, cap < p->out_lim ? cap : p->out_lim);
    if (nb) {
      p->out_buf = nb;
      p->out_cap = cap < p->out_lim ? cap : p->out_lim;
      room = p->out_cap - 1 - p->out_len;
    } else if (!room) {
      p->oom = 1;
      group_kill(p);
    }
  }
  if (p->oversize || p->oom || !room)
    *buf = uv_buf_init(p->scratch, sizeof p->scratch);
  else
    *buf = uv_buf_init(p->out_buf + p->out_len, room < EXEC_CHUNK ? room : EXEC_CHUNK);
}

static void scratch_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  exec_proc *p = h->data;

  (void)suggested;
  *buf = uv_buf_init(p->scratch, sizeof p->scratch);
}

static void on_out(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  exec_proc *p = s->data;

  if (nread > 0 && buf->base != p->scratch) {
    p->out_len += (size_t)nread;
    if (p->out_len > p->job->max_output && !p->oversize) {
      p->oversize = 1;
      group_kill(p);
    }
  } else if (nread < 0) {
    p->out_eof = 1;
    close_handle(p, s);
    maybe_finish(p);
  }
}

static void on_err(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  exec_proc *p = s->data;

  if (nread > 0) {
    stderr_data(p, buf->base, (size_t)nread);
  } else if (nread < 0) {
    p->err_eof = 1;
    close_handle(p, s);
    maybe_finish(p);
  }
}

/* The child may exit or close stdin without reading: EPIPE is expected, not an error. */
static void on_written(uv_write_t *req, int status) {
  exec_proc *p = req->data;

  (void)status;
  close_handle(p, &p->in);
}

/* ---- spawning ------------------------------------------------------------------- */

/* A pipe whose both ends are above 2: dup2 onto the same number would keep O_CLOEXEC. */
static int pipe_above_stdio(int fds[2]) {
  int i;

  if (pipe2(fds, O_CLOEXEC))
    return -errno;
  for (i = 0; i < 2; i++)
    if (fds[i] <= 2) {
      int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
      int e = errno;
      close(fds[i]);
      fds[i] = fd;
      if (fd < 0) {
        close(fds[!i]);
        return -e;
      }
    }
  return 0;
}

static char *spawn_error(int e, const char *argv0, const char *cwd, int *retryable) {
  *retryable = 0;
  if (cwd && (e == ENOENT || e == ENOTDIR || e == EACCES) && access(cwd, X_OK))
    return msg("cannot change directory to %s: %s", cwd, strerror(errno));
  if (e == ENOENT && strchr(argv0, '/') && !access(argv0, F_OK))
    return msg("cannot execute %s: its interpreter (#! line) was not found", argv0);
  if (e == ENOENT)
    return msg("program not found: %s", argv0);
  if (e == EACCES || e == ENOEXEC || e == EISDIR || e == ENOTDIR)
    return msg("cannot execute %s: %s", argv0, strerror(e));
  *retryable = 1;
  return msg("cannot start %s: %s", argv0, strerror(e));
}

static int spawn(exec_proc *p, const char *cwd, int fds[3], char **env, int *err) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t none, dfl;
  static const int reset[] = {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD,
                              SIGUSR1, SIGUSR2, SIGALRM, SIGTSTP, SIGTTIN, SIGTTOU, SIGXFSZ};
  size_t i;
  int e;

  sigemptyset(&none);
  sigemptyset(&dfl);
  for (i = 0; i < sizeof reset / sizeof reset[0]; i++)
    sigaddset(&dfl, reset[i]);
  if ((e = posix_spawnattr_init(&at)))
    return *err = e, -1;
  if ((e = posix_spawn_file_actions_init(&fa))) {
    posix_spawnattr_destroy(&at);
    return *err = e, -1;
  }
  e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
  e = e ? e : posix_spawnattr_setpgroup(&at, 0);
  e = e ? e : posix_spawnattr_setsigmask(&at, &none);
  e = e ? e : posix_spawnattr_setsigdefault(&at, &dfl);
  e = e || !cwd ? e : posix_spawn_file_actions_addchdir_np(&fa, cwd);
  for (i = 0; i < 3 && !e; i++)
    e = posix_spawn_file_actions_adddup2(&fa, fds[i], (int)i);
  e = e ? e : posix_spawnp(&p->pid, p->argv[0], &fa, &at, p->argv, env);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  return (*err = e) ? -1 : 0;
}

/* The attempt ends before its child runs; error (malloc'd, NULL when out of memory)
 * says why. */
static void fail_now(wfi_job *job, exec_proc *p, int retryable, char *error) {
  proc_free(p);
  wfa_job_fail(job, retryable, error ? error : "out of memory starting the step");
  free(error);
}

/* The attempt could not start for lack of descriptors or processes (errno e): the
 * engine may start it again once a running step has ended (wfi_result.deferred). */
static void fail_lacking(wfi_job *job, exec_proc *p, int e, char *error) {
  wfi_result res;

  wfa_result_init(&res);
  res.retryable = 1;
  res.deferred = e == EMFILE || e == ENFILE || e == EAGAIN;
  res.error = error ? error : strdup("out of memory starting the step");
  proc_free(p);
  wfi_job_done(job, &res);
}

/* 0 when fd now belongs to the handle (and reading started when cb is given). */
static int attach(exec_proc *p, uv_pipe_t *h, int fd, uv_alloc_cb alloc, uv_read_cb cb) {
  uv_pipe_init(p->job->loop, h, 0);
  h->data = p;
  if (uv_pipe_open(h, fd)) {
    close(fd);
    return -1;
  }
  return cb ? uv_read_start((uv_stream_t *)h, alloc, cb) : 0;
}

/* Hands the running child to the loop; cannot fail. */
static void watch(exec_proc *p, exec_loop *el, int in_w, int out_r, int err_r) {
  uv_buf_t b = uv_buf_init(p->stdin_json, (unsigned)p->stdin_len);

  p->el = el;
  p->next = el->procs;
  el->procs = p;
  p->nhandles = EXEC_NHANDLES;
  uv_timer_init(p->job->loop, &p->grace);
  uv_timer_init(p->job->loop, &p->drain);
  p->grace.data = p->drain.data = p->wreq.data = p;
  if (attach(p, &p->out, out_r, out_alloc, on_out))
    p->out_eof = 1;
  if (attach(p, &p->err, err_r, scratch_alloc, on_err))
    p->err_eof = 1;
  if (attach(p, &p->in, in_w, NULL, NULL) ||
      uv_write(&p->wreq, (uv_stream_t *)&p->in, &b, 1, on_written))
    close_handle(p, &p->in);
  p->job->act_state = p;
}

/* Everything before the spawn that can refuse the attempt: argv, cwd, stdin, log.
 * NULL, or the message (NULL when out of memory: *failed tells). */
static char *prepare(exec_proc *p, char **cwd, int *failed, int *retryable) {
  const wfi_job *job = p->job;
  wfa_exec_input in;
  char err[256];
  int rc;

  *failed = 1;
  *retryable = 0;
  if (wfa_exec_input_split(job->input, job->input_len, &in))
    return msg("exec input is not a msgpack map");
  if ((rc = wfa_exec_build_argv(&in, &p->argv, err, sizeof err)))
    return rc == WF_ENOMEM ? (*retryable = 1, NULL) : strdup(err);
  if (in.cwd && !(in.cwd_n == 1 && in.cwd[0] == 0xc0) && !(*cwd = wfa_exec_str_dup(in.cwd, in.cwd_n)))
    return msg("\"cwd\" must be a string or null");
  if ((rc = wfa_exec_build_stdin(job, &in, &p->stdin_json, &p->stdin_len)))
    return rc == WF_ENOMEM ? (*retryable = 1, NULL) : msg("exec input holds corrupt msgpack");
  *retryable = 1;
  *failed = 0;
  return NULL;
}

static void close_fds(int *fds, size_t n) {
  size_t i;

  for (i = 0; i < n; i++)
    if (fds[i] >= 0)
      close(fds[i]);
}

static void exec_start(void *ctx, wfi_job *job) {
  exec_proc *p = calloc(1, sizeof *p);
  exec_loop *el;
  char *cwd = NULL, *why, **env;
  int pp[6] = {-1, -1, -1, -1, -1, -1}; /* stdin r/w, stdout r/w, stderr r/w */
  int child[3], rc, e, failed, retry;

  (void)ctx;
  job->act_state = NULL;
  if (!p) {
    fail_now(job, NULL, 1, NULL);
    return;
  }
  p->job = job;
  p->log_fd = -1;
  p->out_lim = job->max_output < SIZE_MAX - 2 ? job->max_output + 2 : SIZE_MAX;
  why = prepare(p, &cwd, &failed, &retry);
  if (failed) {
    free(cwd);
    fail_now(job, p, retry, why);
    return;
  }
  if ((rc = pipe_above_stdio(pp)) || (rc = pipe_above_stdio(pp + 2)) ||
      (rc = pipe_above_stdio(pp + 4))) {
    close_fds(pp, 6);
    free(cwd);
    fail_lacking(job, p, -rc, msg("cannot create pipes: %s", strerror(-rc)));
    return;
  }
  env = wfa_exec_build_env(job);
  if (!env || (rc = loop_get(job->loop, &el))) {
    close_fds(pp, 6);
    free(env);
    free(cwd);
    fail_lacking(job, p, env && rc == UV_EMFILE ? EMFILE : 0,
                 env ? msg("cannot watch children: %s", uv_strerror(rc)) : NULL);
    return;
  }
  child[0] = pp[0], child[1] = pp[3], child[2] = pp[5];
  rc = spawn(p, cwd, child, env, &e);
  free(env);
  close_fds(child, 3);
  if (rc) {
    int parent[3] = {pp[1], pp[2], pp[4]};
    close_fds(parent, 3);
    if (!el->procs)
      loop_close(el);
    why = spawn_error(e, p->argv[0], cwd, &retry);
    free(cwd);
    if (retry)
      fail_lacking(job, p, e, why);
    else
      fail_now(job, p, retry, why);
    return;
  }
  free(cwd);
  watch(p, el, pp[1], pp[2], pp[4]);
}

static void exec_kill(void *ctx, wfi_job *job, int reason) {
  exec_proc *p = job->act_state;
  double ms;

  (void)ctx;
  (void)reason;
  if (!p || p->finishing || p->killed)
    return;
  p->killed = 1;
  if (p->reaped) { /* only stragglers holding the pipes are left */
    kill(-p->pid, SIGKILL);
    return;
  }
  kill(-p->pid, SIGTERM);
  ms = job->kill_grace_s * 1000.0;
  if (ms < 1)
    kill(-p->pid, SIGKILL);
  else
    uv_timer_start(&p->grace, on_grace, ms > 86400e3 ? 86400000 : (uint64_t)ms, 0);
}

const wfi_activity wfa_exec = {"exec", exec_start, exec_kill};
