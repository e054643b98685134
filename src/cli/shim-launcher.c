// dist/shim: the file the `shim` command runs. `make build` compiles this (static, musl) with SHIM_NODE naming
// the node that built dist/ (dist/ is built on the machine it runs on).
//
// Every call goes to Node (shim.cjs beside this file: src/cli/launcher.ts), except four that an orchestrator
// makes for every container and that need no decision of their own. podman and containerd's runc shim call
// `start ID` and `delete [--force] ID` once per container, `kill ID [SIGNAL]` to stop one, and podman `state ID`
// whenever it syncs one (ps, inspect, stop); a cold Node start costs 60-80 ms here where runc takes 5-10 ms
// for each. For those, when the container's state directory holds the fast-path record
// (src/state/fast-path-record.ts, written by Node with every state.json: it exists only when there is nothing
// to do but the FIFO, the cgroups and the state directory, and says what they are), this program does just
// that:
//   start:  takes the container's lock, checks the init is the one recorded and alive, and releases it through
//           its start FIFO, as lifecycle.ts's startContainer does; then removes the FIFO.
//   delete: takes the lock, checks the init is gone, removes the cgroup directories, the empty parents and the
//           state directory, as lifecycle.ts's deleteContainer does for a stopped container.
//   kill:   signals the recorded init if it is alive (no lock, as killContainer takes none).
//   state:  prints the OCI state from the record's template, its status read from the init, the FIFO and the
//           freezer, as lifecycle.ts's observeState reads it.
// Anything else goes to Node unchanged, before anything was done or after only what Node would do first anyway
// (a cgroup already removed is not an error to it): an option this does not know, an id that is not a plain
// name, no record, a lock someone holds, a live init at delete, an rmdir the kernel refuses (a process still in
// the cgroup, which Node kills first), a start FIFO that gives no "0". Node then does it and says what went
// wrong, in shim's words. Nothing is ever written to --log here: there is nothing to say on success.
// test/integration/fast-path.test.ts holds both ways to the same outcome (SHIM_NO_FAST_PATH=1 is the other).
//
// Why C: this was a dash script. Its own start (an exec of a dynamic binary, ~3.5 ms here), dash's `read`
// (one read(2) per byte: ~1,800 calls for one record) and the rm and rmdir it forked came to 16 ms for a
// `start` and 19 ms for a `delete`, of which the work itself is a fraction. A static binary starts in well
// under a millisecond. It decides nothing of its own, as the script did not.
//
// `create` and `exec` go to Node through the helper's launch mode (`shim-helper --launch NODE -- shim.cjs
// ARGS`, helper-c/launch.c): it starts Node and the helper side by side on pipes it made, so that Node need not
// fork its whole process to start the helper (src/helper/launched-helper.ts). Only when the verb is plain to
// see past runc's global options, and the helper is the one beside this file (SHIM_HELPER names another;
// SHIM_NO_LAUNCH=1 turns it off).

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc-read.h"

#ifndef SHIM_NODE
#error "SHIM_NODE must name the node that runs shim.cjs (the Makefile passes it)"
#endif

// The record of a container with annotations, a long bundle path and cgroup directories in every v1 hierarchy
// is 2-3 KB; one beyond this goes to Node, which reads it whole.
#define RECORD_MAX 65536
#define DEFAULT_ROOT "/run/shim"

// --- small reading helpers ----------------------------------------------------------------------------------

static int all_digits(const char *text)
{
	return *text != '\0' && strspn(text, "0123456789") == strlen(text);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

// --- the command line and the record ------------------------------------------------------------------------

static const char *root = DEFAULT_ROOT, *verb, *id, *signal_given;
static int words, force;

// The record (fast-path-record.ts fastPathRecord): one key and its words per line, up to `oci-state`, after
// which every line is the state template.
static char record[RECORD_MAX];
static const char *init_pid, *init_start, *fifo, *cgroups, *parents, *freeze, *template_text;
static char lock_path[PATH_MAX];
static int lock_held;

/** Reads ROOT/ID/fast-path into the fields above; 0 on anything unexpected. */
static int read_record(void)
{
	char path[PATH_MAX];
	struct stat info;
	const char *version = NULL;

	if ((size_t)snprintf(path, sizeof path, "%s/%s/fast-path", root, id) >= sizeof path)
		return 0;
	if (stat(path, &info) < 0 || !S_ISREG(info.st_mode) || read_small(path, record, sizeof record) < 0)
		return 0;
	for (char *line = record; line != NULL && *line != '\0';) {
		char *end = strchr(line, '\n');
		char *next = end != NULL ? end + 1 : NULL;
		if (end != NULL)
			*end = '\0';
		// The first word, then the rest without its outer blanks (as the dash script's `read -r key rest` took it).
		while (is_blank(*line))
			line++;
		char *rest = line + strcspn(line, " \t");
		if (*rest != '\0')
			*rest++ = '\0';
		while (is_blank(*rest))
			rest++;
		for (char *tail = rest + strlen(rest); tail > rest && is_blank(tail[-1]);)
			*--tail = '\0';
		if (strcmp(line, "oci-state") == 0) {
			template_text = next != NULL ? next : "";
			break;
		}
		if (strcmp(line, "version") == 0)
			version = rest;
		else if (strcmp(line, "init") == 0) {
			char *space = strchr(rest, ' ');
			if (space == NULL)
				return 0;
			*space = '\0';
			init_pid = rest;
			init_start = space + 1;
		} else if (strcmp(line, "fifo") == 0)
			fifo = rest;
		else if (strcmp(line, "cgroups") == 0)
			cgroups = rest;
		else if (strcmp(line, "parents") == 0)
			parents = rest;
		else if (strcmp(line, "freeze") == 0)
			freeze = rest;
		line = next;
	}
	return version != NULL && strcmp(version, "1") == 0 && init_pid != NULL && all_digits(init_pid) && init_start != NULL &&
	       all_digits(init_start) && fifo != NULL && *fifo != '\0';
}

// --- what each verb does ------------------------------------------------------------------------------------

/** The recorded init is alive: same pid, same start time, and not a zombie. */
static int init_alive(void)
{
	char start_time[32];
	return process_start_time(init_pid, start_time, sizeof start_time) && strcmp(start_time, init_start) == 0;
}

static int is_fifo(const char *path)
{
	struct stat info;
	return stat(path, &info) == 0 && S_ISFIFO(info.st_mode);
}

static void release_lock(void)
{
	if (lock_held)
		unlink(lock_path);
	lock_held = 0;
}

/**
 * The container's lock, as src/state/container-lock.ts takes it: a file made with O_EXCL in the root, holding
 * "PID STARTTIME" of its owner. This process is the owner.
 */
static int take_lock(void)
{
	char start_time[32], text[64];
	if (!process_start_time("self", start_time, sizeof start_time))
		return 0;
	if ((size_t)snprintf(lock_path, sizeof lock_path, "%s/.%s.lock", root, id) >= sizeof lock_path)
		return 0;
	int fd = open(lock_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0;
	lock_held = 1;
	int length = snprintf(text, sizeof text, "%d %s", (int)getpid(), start_time);
	int written = (int)write(fd, text, (size_t)length);
	close(fd);
	if (written != length)
		release_lock();
	return written == length;
}

static int fast_start(void)
{
	if (!is_fifo(fifo) || !take_lock())
		return 0;
	if (is_fifo(fifo) && init_alive()) {
		// Opening the FIFO read-write never blocks and lets the init's blocked open for writing return; the
		// read-only open beside it then does not block either. Once the read-write end is closed, the init is
		// the only writer: the read gets its "0" and then end of file as the init's exec closes its end, or
		// end of file at once should the init not have its end open (yet, or any more), and Node takes over.
		char answer[8];
		size_t used = 0;
		int both = open(fifo, O_RDWR | O_CLOEXEC);
		int reader = both < 0 ? -1 : open(fifo, O_RDONLY | O_CLOEXEC);
		if (both >= 0)
			close(both);
		if (reader >= 0) {
			for (;;) {
				ssize_t n = read(reader, answer + used, sizeof answer - 1 - used);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					break;
				used += (size_t)n;
				if (memchr(answer, '\n', used) != NULL || used == sizeof answer - 1)
					break;
			}
			close(reader);
		}
		answer[used] = '\0';
		answer[strcspn(answer, "\n")] = '\0';
		if (strcmp(answer, "0") == 0) {
			unlink(fifo);
			release_lock();
			exit(0);
		}
	}
	release_lock();
	return 0;
}

/** rmdir of each word of a space-separated list of plain paths; 1 when every one went. */
static int remove_dirs(const char *list)
{
	char copy[RECORD_MAX];
	int all = 1;
	snprintf(copy, sizeof copy, "%s", list);
	for (char *save = NULL, *dir = strtok_r(copy, " \t", &save); dir != NULL; dir = strtok_r(NULL, " \t", &save))
		if (rmdir(dir) < 0)
			all = 0;
	return all;
}

/** Removes what is under the directory fd, as `rm -rf` would (never following a symlink); 1 when all went. */
static int remove_contents(int dir_fd)
{
	DIR *dir = fdopendir(dir_fd);
	if (dir == NULL) {
		close(dir_fd);
		return 0;
	}
	int all = 1;
	for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
		const char *name = entry->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (unlinkat(dirfd(dir), name, 0) == 0)
			continue;
		if (errno != EISDIR) {
			all = 0;
			continue;
		}
		int child = openat(dirfd(dir), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (child < 0 || !remove_contents(child) || unlinkat(dirfd(dir), name, AT_REMOVEDIR) < 0)
			all = 0;
	}
	closedir(dir);
	return all;
}

static int remove_tree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	return remove_contents(fd) && (rmdir(path) == 0 || errno == ENOENT);
}

static int fast_delete(void)
{
	char state_dir[PATH_MAX];
	struct stat info;
	if (!take_lock())
		return 0;
	snprintf(state_dir, sizeof state_dir, "%s/%s", root, id);
	if (!init_alive() && stat(state_dir, &info) == 0 && S_ISDIR(info.st_mode)) {
		if (cgroups == NULL || remove_dirs(cgroups)) {
			// Parents only when empty (other containers may be in them); their failures are no one's concern.
			if (parents != NULL)
				remove_dirs(parents);
			// A state directory that cannot be removed is Node's to retry and report, never a silent success.
			if (remove_tree(state_dir)) {
				release_lock();
				exit(0);
			}
		}
	}
	release_lock();
	return 0;
}

/** The signals orchestrators send, by name (Linux's numbers, the same on every architecture for these). */
static int signal_number(const char *name)
{
	static const struct {
		const char *name;
		int number;
	} names[] = { { "TERM", SIGTERM }, { "KILL", SIGKILL }, { "INT", SIGINT },   { "HUP", SIGHUP },   { "QUIT", SIGQUIT },
		      { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "WINCH", SIGWINCH } };
	if (all_digits(name) && strlen(name) <= 2) {
		int number = atoi(name);
		return number >= 1 && number <= 64 && name[0] != '0' ? number : 0;
	}
	if (strncmp(name, "SIG", 3) == 0)
		name += 3;
	for (size_t index = 0; index < sizeof names / sizeof names[0]; index++)
		if (strcmp(name, names[index].name) == 0)
			return names[index].number;
	return 0;
}

static int fast_kill(void)
{
	// Not given: SIGTERM. Given empty (`kill ID ""`): Node's "unknown signal". Any other name, and --all, go
	// to Node (src/container/signals.ts).
	int number = signal_given == NULL ? SIGTERM : signal_number(signal_given);
	if (number == 0 || !init_alive())
		return 0;
	// A created, running or paused container's init is alive; a stopped one's is not, and Node says so.
	if (kill((pid_t)atoi(init_pid), number) < 0)
		return 0;
	exit(0);
}

/** True when the freezer holds the container: lifecycle.ts's isFrozen (cgroup-files.ts isFrozenText). */
static int frozen(void)
{
	char text[4096];
	size_t length = freeze == NULL ? 0 : strlen(freeze);
	static const char v1_file[] = "/freezer.state";
	if (length == 0 || read_small(freeze, text, sizeof text) < 0)
		return 0;
	if (length >= sizeof v1_file - 1 && strcmp(freeze + length - (sizeof v1_file - 1), v1_file) == 0)
		return strncmp(text, "FROZEN", 6) == 0 && (text[6] == '\0' || text[6] == '\n');
	// cgroup v2's cgroup.events: a line "frozen 1".
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		if (strcmp(line, "frozen 1") == 0)
			return 1;
	return 0;
}

static void write_all(const char *text, size_t length)
{
	while (length > 0) {
		ssize_t n = write(1, text, length);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			exit(1);
		text += n;
		length -= (size_t)n;
	}
}

static int fast_state(void)
{
	if (words != 1 || template_text == NULL || *template_text == '\0')
		return 0;
	// lifecycle.ts's observeState for a container with no docker state and no exit status file.
	const char *status = "stopped", *pid = "0";
	struct stat info;
	if (init_alive()) {
		pid = init_pid;
		status = stat(fifo, &info) == 0 ? "created" : frozen() ? "paused" : "running";
	}
	// The template with its two placeholder lines filled in (fast-path-record.ts ociStateTemplate), printed as
	// Node prints it: without a newline after the closing brace.
	static char out[RECORD_MAX + 64];
	size_t used = 0;
	for (const char *line = template_text; *line != '\0';) {
		const char *end = strchr(line, '\n');
		size_t length = end != NULL ? (size_t)(end - line) : strlen(line);
		char filled[96];
		const char *text = line;
		if (length == strlen("  \"pid\": @PID@,") && strncmp(line, "  \"pid\": @PID@,", length) == 0) {
			length = (size_t)snprintf(filled, sizeof filled, "  \"pid\": %s,", pid);
			text = filled;
		} else if (length == strlen("  \"status\": \"@STATUS@\",") && strncmp(line, "  \"status\": \"@STATUS@\",", length) == 0) {
			length = (size_t)snprintf(filled, sizeof filled, "  \"status\": \"%s\",", status);
			text = filled;
		}
		if (used + length + 1 >= sizeof out)
			return 0;
		if (used > 0)
			out[used++] = '\n';
		memcpy(out + used, text, length);
		used += length;
		if (end == NULL)
			break;
		line = end + 1;
	}
	if (used == 0)
		return 0;
	write_all(out, used);
	exit(0);
}

/** A plain container id: runc's, and the only ones a path can be made of here. */
static int is_plain_id(const char *text)
{
	if (*text == '\0' || *text == '.')
		return 0;
	for (const char *c = text; *c != '\0'; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr("_.+-", *c) != NULL))
			return 0;
	return 1;
}

static int is_option_with_value(const char *arg)
{
	return strcmp(arg, "--root") == 0 || strcmp(arg, "--data-root") == 0 || strcmp(arg, "--log") == 0 || strcmp(arg, "--log-format") == 0;
}

/** --root=DIR and the like: the value after '=', or NULL when arg is not one of them. */
static const char *option_value_joined(const char *arg)
{
	static const char *const joined[] = { "--root=", "--data-root=", "--log=", "--log-format=" };
	for (size_t index = 0; index < sizeof joined / sizeof joined[0]; index++)
		if (strncmp(arg, joined[index], strlen(joined[index])) == 0)
			return arg + strlen(joined[index]);
	return NULL;
}

/**
 * The command lines taken here: [--root DIR] [--data-root DIR] [--log FILE] [--log-format text|json]
 * [--systemd-cgroup] followed by `start ID`, `kill ID [SIGNAL]`, `delete [--force|-f] ID` or `state ID`, options
 * as src/cli/fast-path.ts reads them. Returns only when Node is to take the call.
 */
static void fast_path(int argc, char **argv)
{
	for (int index = 1; index < argc; index++) {
		const char *arg = argv[index], *value;
		if (is_option_with_value(arg) || (value = option_value_joined(arg)) != NULL) {
			if (is_option_with_value(arg)) {
				if (index + 1 >= argc)
					return;
				value = argv[++index];
			}
			if (*value == '\0' || *value == '-')
				return;
			if (strncmp(arg, "--root", 6) == 0)
				root = value;
			if (strncmp(arg, "--log-format", 12) == 0 && strcmp(value, "text") != 0 && strcmp(value, "json") != 0)
				return;
		} else if (strcmp(arg, "--systemd-cgroup") == 0) {
		} else if (strcmp(arg, "--force") == 0 || strcmp(arg, "-f") == 0) {
			if (verb == NULL || strcmp(verb, "delete") != 0 || force)
				return;
			force = 1;
		} else if (arg[0] == '-') {
			return;
		} else if (verb == NULL) {
			if (strcmp(arg, "start") != 0 && strcmp(arg, "kill") != 0 && strcmp(arg, "delete") != 0 && strcmp(arg, "state") != 0)
				return;
			verb = arg;
		} else {
			words++;
			if (words == 1)
				id = arg;
			else if (words == 2 && strcmp(verb, "kill") == 0)
				signal_given = arg;
			else
				return;
		}
	}
	if (verb == NULL || id == NULL || !is_plain_id(id) || *root == '\0' || !read_record())
		return;
	if (strcmp(verb, "start") == 0)
		fast_start();
	else if (strcmp(verb, "kill") == 0)
		fast_kill();
	else if (strcmp(verb, "delete") == 0)
		fast_delete();
	else
		fast_state();
}

// --- Node -------------------------------------------------------------------------------------------------

/** `create` or `exec` past runc's global options: what goes through the helper's launch mode. */
static int wants_launch(int argc, char **argv)
{
	for (int index = 1; index < argc; index++) {
		const char *arg = argv[index];
		if (is_option_with_value(arg))
			index++;
		else if (option_value_joined(arg) != NULL || strcmp(arg, "--systemd-cgroup") == 0 || strcmp(arg, "--debug") == 0)
			continue;
		else
			return strcmp(arg, "create") == 0 || strcmp(arg, "exec") == 0;
	}
	return 0;
}

static int set(const char *name)
{
	const char *value = getenv(name);
	return value != NULL && *value != '\0';
}

/** The one line a caller gets when Node cannot run (an install gone wrong): what, and errno's name. */
static _Noreturn void cannot_run(const char *program)
{
	const char *name = errno == ENOENT ? "ENOENT" : errno == EACCES ? "EACCES" : errno == ENOEXEC ? "ENOEXEC" : NULL;
	if (name != NULL)
		dprintf(2, "shim: cannot execute %s (%s)\n", program, name);
	else
		dprintf(2, "shim: cannot execute %s (errno %d)\n", program, errno);
	exit(127);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !set("SHIM_NO_FAST_PATH")) {
		const char *first = argv[1];
		if (strcmp(first, "start") == 0 || strcmp(first, "kill") == 0 || strcmp(first, "delete") == 0 || strcmp(first, "state") == 0 ||
		    is_option_with_value(first) || option_value_joined(first) != NULL || strcmp(first, "--systemd-cgroup") == 0)
			fast_path(argc, argv);
	}

	// Node, with the launcher beside this program's own file (through a symlink too: /usr/local/bin/shim,
	// podman's `runc`).
	static char dir[PATH_MAX], script[PATH_MAX + 16], helper[PATH_MAX + 16];
	ssize_t length = readlink("/proc/self/exe", dir, sizeof dir - 1);
	if (length > 0)
		dir[length] = '\0';
	else if (strchr(argv[0], '/') != NULL) // no /proc: the path it was run by
		snprintf(dir, sizeof dir, "%s", argv[0]);
	else {
		dprintf(2, "shim: cannot find its own file: no /proc/self/exe, and run as %s\n", argv[0]);
		return 127;
	}
	*strrchr(dir, '/') = '\0';
	snprintf(script, sizeof script, "%s/shim.cjs", dir);
	snprintf(helper, sizeof helper, "%s/shim-helper", dir);

	char **node_argv = calloc((size_t)argc + 6, sizeof *node_argv);
	if (node_argv == NULL)
		return 127;
	int count = 0;
	int launch = !set("SHIM_HELPER") && !set("SHIM_NO_LAUNCH") && access(helper, X_OK) == 0 && wants_launch(argc, argv);
	if (launch) {
		node_argv[count++] = helper;
		node_argv[count++] = "--launch";
	}
	node_argv[count++] = SHIM_NODE;
	node_argv[count++] = "--";
	node_argv[count++] = script;
	for (int index = 1; index < argc; index++)
		node_argv[count++] = argv[index];
	node_argv[count] = NULL;
	if (launch) {
		execv(helper, node_argv);
		// The helper beside us cannot run after all: Node spawns its own, as without the launch.
		node_argv += 2;
	}
	execv(SHIM_NODE, node_argv);
	cannot_run(SHIM_NODE);
}
