/* libFuzzer harness: the archive reader of ACTION_COPY_IN (`shim cp` into a container), fed hostile tar
 * streams. It includes copy.c itself, so it runs the helper's own static read_header() and the functions under
 * it (ustar, GNU base-256 numbers, GNU long names and links, pax records, name cleaning), on stdin as the
 * helper reads it. Only the making of files is left out: after each header the entry's data is skipped with
 * the helper's skip_data(), where the helper would write it inside the container's root. Every archive must
 * end cleanly or with a refusal (stage COPY and a message), and no cleaned name may climb out ("..") or be
 * absolute. */
#include "../copy.c"

#include <sys/mman.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int archive_fd = -1;

static void check_name(const char *name)
{
	if (name[0] == '/')
		__builtin_trap();
	for (const char *p = name; (p = strstr(p, "..")) != NULL; p += 2)
		if ((p == name || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hc_error err;
	int ret;

	/* The archive on descriptor 0, where read_block() reads it. */
	if (archive_fd < 0) {
		archive_fd = memfd_create("archive", 0);
		if (archive_fd < 0 || dup2(archive_fd, 0) < 0)
			__builtin_trap();
	}
	if (ftruncate(0, 0) < 0 || (size > 0 && pwrite(0, data, size, 0) != (ssize_t)size) || lseek(0, 0, SEEK_SET) != 0)
		__builtin_trap();
	memset(&err, 0, sizeof(err));
	/* Every third run renames the top entry, as a copy to a new name does. */
	while ((ret = read_header(size % 3 == 0 ? "renamed" : NULL, &err)) > 0) {
		check_name(current.name);
		if (current.type == '1' || current.type == '2') {
			char target[PATH_MAX];

			/* What make_entry does with a hard link's target. */
			memcpy(target, current.link, sizeof(target));
			if (current.type == '1' && clean_name(target, NULL) == 0)
				check_name(target);
		}
		if (current.type != '5' && skip_data(current.size) < 0)
			return 0;
	}
	if (ret < 0 && (err.stage != shim_v1_Stage_STAGE_COPY || err.msg[0] == '\0'))
		__builtin_trap();
	return 0;
}
