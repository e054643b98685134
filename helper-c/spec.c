#define _GNU_SOURCE
#include "spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pb_common.h>
#include <pb_decode.h>

#include "seccomp.h"
#include "util.h"

#define READ_SPEC shim_v1_Stage_STAGE_READ_SPEC

static int read_frame(int fd, pb_byte_t **bytes, size_t *len, struct hc_error *err)
{
	unsigned char header[4];
	uint32_t want;
	ssize_t got;
	pb_byte_t *buf;

	got = hc_read_full(fd, header, sizeof(header));
	if (got < 0)
		return hc_fail(err, READ_SPEC, errno, NULL, "read spec frame");
	if (got < (ssize_t)sizeof(header))
		return hc_fail(err, READ_SPEC, 0, NULL, "truncated frame (got %ld of 4 bytes)", (long)got);
	want = (uint32_t)header[0] | (uint32_t)header[1] << 8 | (uint32_t)header[2] << 16 |
	       (uint32_t)header[3] << 24;
	if (want > HC_SPEC_MAX_FRAME)
		return hc_fail(err, READ_SPEC, 0, NULL, "spec frame of %u bytes is over the %u-byte limit", want,
			       HC_SPEC_MAX_FRAME);
	buf = malloc(want > 0 ? want : 1);
	if (buf == NULL)
		return hc_fail(err, READ_SPEC, ENOMEM, NULL, "read spec frame");
	got = hc_read_full(fd, buf, want);
	if (got < 0)
		return hc_fail(err, READ_SPEC, errno, NULL, "read spec frame");
	if ((size_t)got < want)
		return hc_fail(err, READ_SPEC, 0, NULL, "truncated frame (got %ld of %u bytes)", (long)got, want);
	*bytes = buf;
	*len = want;
	return 0;
}

/* nanopb's descriptors carry no names; this table gives error messages the proto's. */
static const struct {
	const pb_msgdesc_t *desc;
	const char *name;
} message_names[] = {
	{ &shim_v1_Spec_msg, "shim.v1.Spec" },
	{ &shim_v1_Namespace_msg, "shim.v1.Namespace" },
	{ &shim_v1_IdMapping_msg, "shim.v1.IdMapping" },
	{ &shim_v1_Rootfs_msg, "shim.v1.Rootfs" },
	{ &shim_v1_Mount_msg, "shim.v1.Mount" },
	{ &shim_v1_Device_msg, "shim.v1.Device" },
	{ &shim_v1_Symlink_msg, "shim.v1.Symlink" },
	{ &shim_v1_Sysctl_msg, "shim.v1.Sysctl" },
	{ &shim_v1_Rlimit_msg, "shim.v1.Rlimit" },
	{ &shim_v1_Capabilities_msg, "shim.v1.Capabilities" },
	{ &shim_v1_Process_msg, "shim.v1.Process" },
	{ &shim_v1_FsNode_msg, "shim.v1.FsNode" },
	{ &shim_v1_Xattr_msg, "shim.v1.Xattr" },
	{ &shim_v1_LiveDevice_msg, "shim.v1.LiveDevice" },
	{ &shim_v1_LiveMount_msg, "shim.v1.LiveMount" },
};

static const char *message_name(const pb_msgdesc_t *desc)
{
	for (size_t i = 0; i < HC_ARRAY_SIZE(message_names); i++)
		if (message_names[i].desc == desc)
			return message_names[i].name;
	return "shim.v1.?";
}

/* nanopb skips fields it does not know, which would hide version skew between the two halves: a shim
 * asking for something this helper cannot do must be refused, not half-obeyed. So walk the encoded
 * message first, recursing into the submessages we know, and fail on the first unknown field number. */
static int scan_unknown(pb_istream_t *in, const pb_msgdesc_t *desc, struct hc_error *err)
{
	/* The iterator wants a struct to point into; it is never written. Spec is the largest message. */
	static char scratch[sizeof(shim_v1_Spec)];
	pb_wire_type_t wire_type;
	uint32_t tag;
	bool eof;

	for (;;) {
		pb_field_iter_t field;

		if (!pb_decode_tag(in, &wire_type, &tag, &eof)) {
			if (eof)
				return 0;
			return hc_fail(err, READ_SPEC, 0, NULL, "spec: decode %s: %s", message_name(desc),
				       PB_GET_ERROR(in));
		}
		if (!pb_field_iter_begin(&field, desc, scratch) || !pb_field_iter_find(&field, tag))
			return hc_fail(err, READ_SPEC, 0, NULL, "spec: unknown field %u in %s", tag,
				       message_name(desc));
		if (PB_LTYPE_IS_SUBMSG(field.type) && wire_type == PB_WT_STRING) {
			pb_istream_t sub;
			int ret;

			if (!pb_make_string_substream(in, &sub))
				return hc_fail(err, READ_SPEC, 0, NULL, "spec: decode %s: %s", message_name(desc),
					       PB_GET_ERROR(in));
			ret = scan_unknown(&sub, field.submsg_desc, err);
			if (ret < 0)
				return ret;
			if (!pb_close_string_substream(in, &sub))
				return hc_fail(err, READ_SPEC, 0, NULL, "spec: decode %s: %s", message_name(desc),
					       PB_GET_ERROR(in));
		} else if (!pb_skip_field(in, wire_type)) {
			return hc_fail(err, READ_SPEC, 0, NULL, "spec: decode %s: %s", message_name(desc),
				       PB_GET_ERROR(in));
		}
	}
}

int hc_spec_read(int fd, shim_v1_Spec *spec, struct hc_error *err)
{
	pb_byte_t *bytes = NULL;
	size_t len = 0;
	pb_istream_t in;

	if (read_frame(fd, &bytes, &len, err) < 0)
		return -1;

	in = pb_istream_from_buffer(bytes, len);
	if (scan_unknown(&in, &shim_v1_Spec_msg, err) < 0) {
		free(bytes);
		return -1;
	}
	in = pb_istream_from_buffer(bytes, len);
	if (!pb_decode(&in, shim_v1_Spec_fields, spec)) {
		hc_fail(err, READ_SPEC, 0, NULL, "spec: decode shim.v1.Spec: %s", PB_GET_ERROR(&in));
		free(bytes);
		return -1;
	}
	free(bytes);
	return 0;
}

const shim_v1_Namespace *hc_spec_namespace(const shim_v1_Spec *spec, shim_v1_NamespaceType type)
{
	for (pb_size_t i = 0; i < spec->namespaces_count; i++)
		if (spec->namespaces[i].type == type)
			return &spec->namespaces[i];
	return NULL;
}

static int check_absolute(const char *path, const char *what, struct hc_error *err)
{
	if (path == NULL || path[0] != '/')
		return hc_fail(err, READ_SPEC, 0, path, "spec: %s must be an absolute path", what);
	return 0;
}

/* execve wants NULL-terminated arrays; nanopb gives counted ones from realloc(), so grow them by one. */
static int terminate_list(char ***list, pb_size_t count, struct hc_error *err)
{
	char **grown = realloc(*list, (count + 1) * sizeof(char *));

	if (grown == NULL)
		return hc_fail(err, READ_SPEC, ENOMEM, NULL, "spec: allocate argument list");
	grown[count] = NULL;
	*list = grown;
	return 0;
}

static int validate_namespaces(const shim_v1_Spec *spec, struct hc_error *err)
{
	unsigned seen = 0;

	for (pb_size_t i = 0; i < spec->namespaces_count; i++) {
		const shim_v1_Namespace *ns = &spec->namespaces[i];

		if (ns->type <= shim_v1_NamespaceType_NAMESPACE_TYPE_UNSPECIFIED ||
		    ns->type > shim_v1_NamespaceType_NAMESPACE_TYPE_TIME)
			return hc_fail(err, READ_SPEC, 0, NULL, "spec: namespaces[%u]: unknown type %d", i,
				       (int)ns->type);
		if (seen & (1U << ns->type))
			return hc_fail(err, READ_SPEC, 0, NULL, "spec: namespaces[%u]: type %d is listed twice", i,
				       (int)ns->type);
		seen |= 1U << ns->type;
		if (hc_has(ns->path) && check_absolute(ns->path, "namespace path", err) < 0)
			return -1;
	}
	return 0;
}

static bool same_parent(const char *a, const char *b)
{
	const char *slash_a = strrchr(a, '/');
	const char *slash_b = strrchr(b, '/');

	return slash_a - a == slash_b - b && strncmp(a, b, (size_t)(slash_a - a)) == 0;
}

static int validate_run(shim_v1_Spec *spec, struct hc_error *err)
{
	const shim_v1_Rootfs *rootfs = &spec->rootfs;
	const shim_v1_Namespace *userns = hc_spec_namespace(spec, shim_v1_NamespaceType_NAMESPACE_TYPE_USER);

	if (!spec->has_rootfs || !hc_has(rootfs->path))
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: run needs rootfs.path");
	if (check_absolute(rootfs->path, "rootfs.path", err) < 0)
		return -1;
	for (pb_size_t i = 0; i < rootfs->lower_dirs_count; i++)
		if (check_absolute(rootfs->lower_dirs[i], "rootfs.lower_dirs entry", err) < 0)
			return -1;
	if (hc_has(rootfs->upper_dir) != hc_has(rootfs->work_dir))
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: rootfs.upper_dir and rootfs.work_dir go together");
	if (hc_has(rootfs->upper_dir) && rootfs->lower_dirs_count == 0)
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: rootfs.upper_dir needs rootfs.lower_dirs");
	if (hc_has(rootfs->upper_dir) && (check_absolute(rootfs->upper_dir, "rootfs.upper_dir", err) < 0 ||
					  check_absolute(rootfs->work_dir, "rootfs.work_dir", err) < 0))
		return -1;
	/* Everything the helper mounts must land in a mount namespace of the container's, never the host's. */
	if (hc_spec_namespace(spec, shim_v1_NamespaceType_NAMESPACE_TYPE_MOUNT) == NULL)
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: run needs a mount namespace");
	if (userns != NULL && !hc_has(userns->path) &&
	    (spec->uid_mappings_count == 0 || spec->gid_mappings_count == 0))
		return hc_fail(err, READ_SPEC, 0, NULL,
			       "spec: a new user namespace needs uid_mappings and gid_mappings");
	if (rootfs->idmap_layers && (userns == NULL || hc_has(userns->path)))
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: rootfs.idmap_layers needs a new user namespace");
	if (rootfs->idmap_layers && hc_has(rootfs->upper_dir) && !same_parent(rootfs->upper_dir, rootfs->work_dir))
		return hc_fail(err, READ_SPEC, 0, rootfs->upper_dir,
			       "spec: rootfs.idmap_layers needs upper_dir and work_dir in one directory");
	for (pb_size_t i = 0; i < spec->mounts_count; i++) {
		const shim_v1_Mount *m = &spec->mounts[i];

		if (check_absolute(m->target, "mount target", err) < 0)
			return -1;
		if ((m->uid_mappings_count > 0) != (m->gid_mappings_count > 0))
			return hc_fail(err, READ_SPEC, 0, m->target, "spec: an idmapped mount needs uid and gid mappings");
		if (m->uid_mappings_count > 0 && (check_absolute(m->source, "idmapped mount source", err) < 0))
			return -1;
	}
	for (pb_size_t i = 0; i < spec->devices_count; i++)
		if (check_absolute(spec->devices[i].path, "device path", err) < 0)
			return -1;
	for (pb_size_t i = 0; i < spec->symlinks_count; i++) {
		if (check_absolute(spec->symlinks[i].path, "symlink path", err) < 0)
			return -1;
		if (!hc_has(spec->symlinks[i].target))
			return hc_fail(err, READ_SPEC, 0, spec->symlinks[i].path, "spec: symlink needs a target");
	}
	for (pb_size_t i = 0; i < spec->masked_paths_count; i++)
		if (check_absolute(spec->masked_paths[i], "masked path", err) < 0)
			return -1;
	for (pb_size_t i = 0; i < spec->readonly_paths_count; i++)
		if (check_absolute(spec->readonly_paths[i], "readonly path", err) < 0)
			return -1;
	for (pb_size_t i = 0; i < spec->sysctls_count; i++) {
		const char *key = spec->sysctls[i].key;

		/* The key becomes a path under /proc/sys: a slash in it could climb out. */
		if (!hc_has(key) || strchr(key, '/') != NULL || key[0] == '.')
			return hc_fail(err, READ_SPEC, 0, key, "spec: invalid sysctl key");
	}
	/* Without their namespace these would change the host's own name and loopback. */
	if ((hc_has(spec->hostname) || hc_has(spec->domainname)) &&
	    hc_spec_namespace(spec, shim_v1_NamespaceType_NAMESPACE_TYPE_UTS) == NULL)
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: hostname and domainname need a uts namespace");
	if (spec->loopback_up && hc_spec_namespace(spec, shim_v1_NamespaceType_NAMESPACE_TYPE_NET) == NULL)
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: loopback_up needs a network namespace");
	return 0;
}

static int validate_apply_nodes(const shim_v1_Spec *spec, struct hc_error *err)
{
	if (check_absolute(spec->layer_dir, "layer_dir", err) < 0)
		return -1;
	for (pb_size_t i = 0; i < spec->nodes_count; i++) {
		const shim_v1_FsNode *node = &spec->nodes[i];

		/* Relative to the layer: a leading slash or an empty path names nothing in it. */
		if (!hc_has(node->path) || node->path[0] == '/')
			return hc_fail(err, READ_SPEC, 0, node->path, "spec: nodes[%u]: path must be relative", i);
		if (node->kind <= shim_v1_FsNodeKind_FS_NODE_KIND_UNSPECIFIED ||
		    node->kind > shim_v1_FsNodeKind_FS_NODE_KIND_EXISTING)
			return hc_fail(err, READ_SPEC, 0, node->path, "spec: nodes[%u]: unknown kind %d", i,
				       (int)node->kind);
		for (pb_size_t j = 0; j < node->xattrs_count; j++)
			if (!hc_has(node->xattrs[j].name))
				return hc_fail(err, READ_SPEC, 0, node->path, "spec: nodes[%u]: xattr without a name",
					       i);
	}
	return 0;
}

static int validate_copy(shim_v1_Spec *spec, struct hc_error *err)
{
	if (!spec->has_copy || check_absolute(spec->copy.container_path, "copy.container_path", err) < 0)
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: copy needs copy.container_path");
	if (!hc_has(spec->copy.root) && (!spec->has_rootfs || spec->rootfs.lower_dirs_count == 0))
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: copy needs copy.root, or an overlay rootfs");
	if (spec->action == shim_v1_Action_ACTION_COPY_OUT) {
		if (!spec->has_process || spec->process.args_count == 0 || !hc_has(spec->process.args[0]) ||
		    spec->process.args[0][0] != '/')
			return hc_fail(err, READ_SPEC, 0, NULL, "spec: copy out needs process.args with an absolute program");
		return terminate_list(&spec->process.args, spec->process.args_count, err);
	}
	return 0;
}

/* The live actions touch a running container: its init by pid, paths in its root. No process is run. */
static int validate_live(const shim_v1_Spec *spec, struct hc_error *err)
{
	if (spec->target_pid <= 0)
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: a live change needs target_pid");
	if (spec->action == shim_v1_Action_ACTION_LIVE_DEVICE) {
		const shim_v1_LiveDevice *live = &spec->live_device;
		unsigned type = live->node.mode & S_IFMT;

		if (!spec->has_live_device || !live->has_node)
			return hc_fail(err, READ_SPEC, 0, NULL, "spec: live device change needs live_device.node");
		if (check_absolute(live->node.path, "live_device.node.path", err) < 0)
			return -1;
		if (type != S_IFCHR && type != S_IFBLK)
			return hc_fail(err, READ_SPEC, 0, live->node.path, "spec: live_device.node is not a device");
		if (((live->program != NULL && live->program->size > 0) || live->detach_program) &&
		    check_absolute(live->program_cgroup, "live_device.program_cgroup", err) < 0)
			return -1;
		return 0;
	}
	if (!spec->has_live_mount)
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: live mount change needs live_mount");
	if (check_absolute(spec->live_mount.target, "live_mount.target", err) < 0)
		return -1;
	if (!spec->live_mount.remove && check_absolute(spec->live_mount.source, "live_mount.source", err) < 0)
		return -1;
	return 0;
}

int hc_spec_validate(shim_v1_Spec *spec, struct hc_error *err)
{
	shim_v1_Process *process = &spec->process;

	switch (spec->action) {
	case shim_v1_Action_ACTION_RUN_CONTAINER:
		if (validate_run(spec, err) < 0)
			return -1;
		break;
	case shim_v1_Action_ACTION_APPLY_NODES:
		/* No process and no namespaces: nothing below applies. */
		return validate_apply_nodes(spec, err);
	case shim_v1_Action_ACTION_COPY_IN:
	case shim_v1_Action_ACTION_COPY_OUT:
		return validate_copy(spec, err);
	case shim_v1_Action_ACTION_LIVE_DEVICE:
	case shim_v1_Action_ACTION_LIVE_MOUNT:
		return validate_live(spec, err);
	case shim_v1_Action_ACTION_EXEC:
		if (spec->target_pid <= 0)
			return hc_fail(err, READ_SPEC, 0, NULL, "spec: exec needs target_pid");
		break;
	case shim_v1_Action_ACTION_UNSPECIFIED:
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: action is not set");
	default:
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: unknown action %d", (int)spec->action);
	}
	if (validate_namespaces(spec, err) < 0 || hc_seccomp_validate(spec, err) < 0)
		return -1;
	if (spec->finish != shim_v1_Finish_FINISH_EXEC_NOW && spec->finish != shim_v1_Finish_FINISH_WAIT_FOR_START)
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: unknown finish %d", (int)spec->finish);
	if (spec->monitor != shim_v1_Monitor_MONITOR_WAIT && spec->monitor != shim_v1_Monitor_MONITOR_DETACH &&
	    spec->monitor != shim_v1_Monitor_MONITOR_BACKGROUND)
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: unknown monitor %d", (int)spec->monitor);
	if (spec->monitor == shim_v1_Monitor_MONITOR_BACKGROUND) {
		/* The background monitor waits on a container's init; an exec'd process is waited on by the
		 * shim that asked for it. */
		if (spec->action != shim_v1_Action_ACTION_RUN_CONTAINER)
			return hc_fail(err, READ_SPEC, 0, NULL, "spec: MONITOR_BACKGROUND is for run only");
		if (check_absolute(spec->log_path, "log_path", err) < 0 ||
		    check_absolute(spec->exit_status_path, "exit_status_path", err) < 0)
			return -1;
	}
	if (spec->finish == shim_v1_Finish_FINISH_WAIT_FOR_START &&
	    check_absolute(spec->start_fifo, "start_fifo", err) < 0)
		return -1;
	for (pb_size_t i = 0; i < spec->cgroup_procs_count; i++)
		if (check_absolute(spec->cgroup_procs[i], "cgroup_procs entry", err) < 0)
			return -1;

	if (!spec->has_process || process->args_count == 0 || !hc_has(process->args[0]))
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: process.args must name a program");
	if (hc_has(process->cwd) && check_absolute(process->cwd, "process.cwd", err) < 0)
		return -1;
	/* Refused here, before anything is created, rather than half-way through setup. */
	if (process->terminal && !hc_has(spec->console_socket) && spec->monitor != shim_v1_Monitor_MONITOR_WAIT &&
	    !(spec->monitor == shim_v1_Monitor_MONITOR_BACKGROUND && hc_has(spec->attach_socket)))
		return hc_fail(err, shim_v1_Stage_STAGE_TERMINAL, 0, NULL,
			       "spec: a terminal without console_socket is relayed by the monitor: it needs MONITOR_WAIT, "
			       "or MONITOR_BACKGROUND with attach_socket");
	if ((hc_has(spec->attach_socket) || spec->has_restart || hc_has(spec->pid_path)) &&
	    spec->monitor != shim_v1_Monitor_MONITOR_BACKGROUND)
		return hc_fail(err, READ_SPEC, 0, NULL, "spec: attach_socket, pid_path and restart need MONITOR_BACKGROUND");
	if (hc_has(spec->attach_socket) && check_absolute(spec->attach_socket, "attach_socket", err) < 0)
		return -1;
	if (hc_has(spec->pid_path) && check_absolute(spec->pid_path, "pid_path", err) < 0)
		return -1;
	if (process->terminal && !process->new_session)
		return hc_fail(err, shim_v1_Stage_STAGE_TERMINAL, 0, NULL,
			       "spec: process.terminal needs process.new_session");
	if (terminate_list(&process->args, process->args_count, err) < 0 ||
	    terminate_list(&process->env, process->env_count, err) < 0)
		return -1;
	return 0;
}
