/* libFuzzer harness: the bytes of one Spec frame, through the helper's own reader and validator
 * (hc_spec_read: the frame, the unknown-field scan, nanopb's decoding; hc_spec_validate), exactly as main()
 * calls them. Every input must end in a decoded, valid spec or in a refusal with stage and message: never a
 * crash, a sanitizer report or a leak. The frame goes through a memfd, as main() reads a pipe. */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pb_decode.h>

#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int frame_fd = -1;

/* The frame as the shim writes it: 4-byte little-endian length, then the Spec. */
static void load_frame(const uint8_t *data, size_t size)
{
	unsigned char header[4] = { (unsigned char)size, (unsigned char)(size >> 8), (unsigned char)(size >> 16),
				    (unsigned char)(size >> 24) };

	if (frame_fd < 0)
		frame_fd = memfd_create("spec-frame", MFD_CLOEXEC);
	if (frame_fd < 0 || ftruncate(frame_fd, 0) < 0 || pwrite(frame_fd, header, 4, 0) != 4 ||
	    (size > 0 && pwrite(frame_fd, data, size, 4) != (ssize_t)size) || lseek(frame_fd, 0, SEEK_SET) != 0)
		__builtin_trap();
}

static void check_refusal(const struct hc_error *err)
{
	/* A refusal the shim can show: a stage and a NUL-terminated, non-empty message. */
	if (err->stage == shim_v1_Stage_STAGE_UNSPECIFIED || err->msg[0] == '\0' ||
	    memchr(err->msg, '\0', sizeof(err->msg)) == NULL || memchr(err->path, '\0', sizeof(err->path)) == NULL)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shim_v1_Spec spec = shim_v1_Spec_init_zero;
	struct hc_error err;

	load_frame(data, size);
	memset(&err, 0, sizeof(err));
	if (hc_spec_read(frame_fd, &spec, &err) < 0) {
		check_refusal(&err);
		return 0;
	}
	if (hc_spec_validate(&spec, &err) < 0)
		check_refusal(&err);
	/* main() keeps its spec for the process's life; here every run gives back what nanopb allocated. */
	pb_release(shim_v1_Spec_fields, &spec);
	return 0;
}
