/* CVE-2019-5736: a container that makes the helper execute a `#!/proc/self/exe` script gets the helper's own
 * binary running inside it, where it can keep /proc/PID/exe open and write through it once the helper is
 * gone, replacing the binary every later container start runs as root on the host. Non-dumpable does not
 * cover this: execve() resets it. So the helper never runs from the host file at all: its first act is to
 * re-exec itself from a sealed memfd copy (as runc's cloned_binary.c). Whatever the container reaches
 * through /proc/self/exe is then that copy, which no one can write, and which goes when the last process
 * running it does. */
#define _GNU_SOURCE
#include "self-clone.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel.h"
#include "util.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#define STAGE shim_v1_Stage_STAGE_READ_SPEC

int hc_self_clone(char **argv, struct hc_error *err)
{
	hc_cleanup_close int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	hc_cleanup_close int copy = -1;
	struct stat st;
	off_t offset = 0;
	int seals;

	if (exe < 0)
		return hc_fail(err, STAGE, errno, "/proc/self/exe", "self-clone: open");
	seals = fcntl(exe, F_GET_SEALS);
	if (seals >= 0 && (seals & SEALS) == SEALS)
		return 0;
	/* MFD_EXEC says outright that this memfd is to be executed (vm.memfd_noexec); kernels before 6.3
	 * do not know the flag and executable is their only kind. */
	copy = memfd_create("shim-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING | HC_MFD_EXEC);
	if (copy < 0 && errno == EINVAL)
		copy = memfd_create("shim-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (copy < 0)
		return hc_fail(err, STAGE, errno, NULL, "self-clone: memfd_create");
	if (fstat(exe, &st) < 0)
		return hc_fail(err, STAGE, errno, "/proc/self/exe", "self-clone: stat");
	while (offset < st.st_size) {
		ssize_t n = sendfile(copy, exe, &offset, (size_t)(st.st_size - offset));

		if (n <= 0)
			return hc_fail(err, STAGE, n < 0 ? errno : EIO, "/proc/self/exe", "self-clone: copy");
	}
	if (fcntl(copy, F_ADD_SEALS, SEALS) < 0)
		return hc_fail(err, STAGE, errno, NULL, "self-clone: seal");
	hc_close_fdp(&exe);
	/* execveat(AT_EMPTY_PATH) of an ELF file works with close-on-exec set, and then leaves no descriptor
	 * of the copy behind in the new image. */
	fexecve(copy, argv, environ);
	return hc_fail(err, STAGE, errno, NULL, "self-clone: exec the sealed copy");
}
