/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * cmd-translate.c - `xfm translate SOURCE VA...`: guest-virtual to
 * guest-physical through the guest's page tables; and the --va/--root
 * options that read, write and search share (cli_va_*).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	uint32_t mode, flags;
	int nvals;
} root_modes[] = {
	{ "x86_64", XFM_VM_X86_64, 0, 1 },
	{ "la57", XFM_VM_X86_64_LA57, 0, 1 },
	{ "pae", XFM_VM_X86_PAE, 0, 1 },
	{ "x86_32", XFM_VM_X86_32, 0, 1 },
	{ "x86_32_pse", XFM_VM_X86_32, XFM_VM_X86_PSE, 1 },
	{ "arm64", XFM_VM_ARM64, 0, 3 },
};

static const char *mode_name(const xfm_vm_root *r)
{
	for (size_t i = 0; i < sizeof(root_modes) / sizeof(root_modes[0]); i++)
		if (root_modes[i].mode == r->mode &&
		    root_modes[i].flags ==
			    (r->flags & ~(uint32_t)XFM_VM_MACHINE_FRAMES))
			return root_modes[i].name;
	return "?";
}

static const char *origin_name(uint32_t o)
{
	static const char *const names[] = {
		"", "given", "vcpu-qmp", "dump-note", "xen-vcpu",
		"vmcoreinfo",
	};

	return o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

/* "MODE:V[,V,V]": x86_64:CR3, la57:CR3, pae:CR3, x86_32[_pse]:CR3,
 * arm64:TTBR0,TTBR1,TCR. */
int cli_parse_root(const char *s, xfm_vm_root *r, const char **why)
{
	const char *colon = strchr(s, ':');
	uint64_t v[3] = { 0 };
	char *copy, *tok, *save = NULL;
	int n = 0;

	memset(r, 0, sizeof(*r));
	*why = "expected MODE:VALUE (x86_64, la57, pae, x86_32, x86_32_pse: "
	       "CR3; arm64: TTBR0,TTBR1,TCR)";
	if (!colon)
		return -1;
	for (size_t i = 0; i < sizeof(root_modes) / sizeof(root_modes[0]);
	     i++) {
		if (strlen(root_modes[i].name) != (size_t)(colon - s) ||
		    strncmp(root_modes[i].name, s, (size_t)(colon - s)))
			continue;
		copy = strdup(colon + 1);
		if (!copy)
			return -1;
		for (tok = strtok_r(copy, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			if (n == 3 || parse_u64(tok, &v[n++], why) < 0) {
				free(copy);
				if (n == 3)
					*why = "too many values";
				return -1;
			}
		}
		free(copy);
		if (n != root_modes[i].nvals) {
			*why = root_modes[i].nvals == 1 ? "expected one value" :
			       "expected TTBR0,TTBR1,TCR";
			return -1;
		}
		r->mode = root_modes[i].mode;
		r->flags = root_modes[i].flags;
		r->root = v[0];
		r->root1 = v[1];
		r->tcr = v[2];
		return 0;
	}
	*why = "unknown mode (x86_64, la57, pae, x86_32, x86_32_pse, arm64)";
	return -1;
}

int cli_va_root(struct cli *cli, xfm_handle *h, const char *spec)
{
	const char *why;
	xfm_vm_root r;
	int rc;

	if (!spec)
		return 0;
	if (!strcmp(spec, "kernel") || !strcmp(spec, "vcpu")) {
		rc = xfm_find_vm_root(h, spec[0] == 'k' ?
				      XFM_VM_ORIGIN_VMCOREINFO :
				      XFM_VM_ORIGIN_QMP, &r, sizeof(r));
		if (rc == 0)
			rc = xfm_set_vm_root(h, &r, sizeof(r));
		return rc < 0 ? cli_lib_err(cli, rc, NULL) : 0;
	}
	if (cli_parse_root(spec, &r, &why) < 0)
		return cli_usage(cli, "--root '%s': %s", spec, why);
	rc = xfm_set_vm_root(h, &r, sizeof(r));
	return rc < 0 ? cli_lib_err(cli, rc, NULL) : 0;
}

bool cli_va_opt(int c, bool *va, const char **root)
{
	if (c == OPT_VA)
		*va = true;
	else if (c == OPT_VA_ROOT)
		*root = optarg;
	return c == OPT_VA || c == OPT_VA_ROOT;
}

int cli_va_check(struct cli *cli, bool va, const char *root)
{
	return root && !va ? cli_usage(cli, "--root needs --va") : 0;
}

static void print_root(const struct cli *cli, const xfm_vm_root *r,
		       json_object *obj)
{
	if (obj) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "mode",
				       json_object_new_string(mode_name(r)));
		json_object_object_add(o, "root", json_u64(r->root));
		if (r->mode == XFM_VM_ARM64) {
			json_object_object_add(o, "root1", json_u64(r->root1));
			json_object_object_add(o, "tcr", json_u64(r->tcr));
		}
		json_object_object_add(o, "origin", json_object_new_string(
					       origin_name(r->origin)));
		json_object_object_add(o, "machine_frames",
			json_object_new_boolean(r->flags &
						XFM_VM_MACHINE_FRAMES));
		json_object_object_add(obj, "root", o);
		return;
	}
	if (cli->quiet)
		return;
	if (r->mode == XFM_VM_ARM64)
		printf("root: arm64 ttbr0 0x%" PRIx64 " ttbr1 0x%" PRIx64
		       " tcr 0x%" PRIx64 " (%s)\n", r->root, r->root1, r->tcr,
		       origin_name(r->origin));
	else
		printf("root: %s 0x%" PRIx64 " (%s%s)\n", mode_name(r),
		       r->root, origin_name(r->origin),
		       (r->flags & XFM_VM_MACHINE_FRAMES) ?
		       ", machine frames" : "");
}

static const char *reason_name(uint32_t r)
{
	static const char *const names[] = {
		"mapped", "not present", "outside the address space",
		"reserved bits", "address size", "walk disabled",
		"table not in the source", "machine frame not the guest's",
	};

	return r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

/* Translate one VA; prints it; returns 1 if unmapped, 0, or < 0. */
static int translate_one(xfm_handle *h, uint64_t va, json_object *arr)
{
	xfm_translation t;
	int rc = xfm_translate(h, va, &t, sizeof(t));
	json_object *o;
	char size[32];

	if (rc < 0 && rc != -EFAULT)
		return rc;
	if (arr) {
		o = json_object_new_object();
		json_object_object_add(o, "va", json_u64(va));
		json_object_object_add(o, "mapped",
				       json_object_new_boolean(rc == 0));
		if (rc == 0) {
			json_object_object_add(o, "pa", json_u64(t.pa));
			json_object_object_add(o, "page_size",
					       json_u64(t.page_size));
		} else {
			json_object_object_add(o, "reason",
				json_object_new_string(reason_name(t.reason)));
		}
		json_object_object_add(o, "level",
				       json_object_new_int(t.level));
		json_object_object_add(o, "entry", json_u64(t.entry));
		json_object_object_add(o, "entry_addr", json_u64(t.entry_addr));
		json_object_array_add(arr, o);
		return rc ? 1 : 0;
	}
	if (rc == 0) {
		fmt_size(size, sizeof(size), t.page_size);
		printf("0x%" PRIx64 " -> 0x%" PRIx64 " (%s page, level %d)\n",
		       va, t.pa, size, (int)t.level);
		return 0;
	}
	printf("0x%" PRIx64 " -> not mapped (%s: level %d entry 0x%" PRIx64
	       " at 0x%" PRIx64 ")\n", va, reason_name(t.reason),
	       (int)t.level, t.entry, t.entry_addr);
	return 1;
}

/* VAs from the arguments, or one per line from stdin for "-". */
static int translate_all(struct cli *cli, xfm_handle *h, int argc,
			 char **argv, json_object *arr, int *unmapped)
{
	char line[128];
	const char *why;
	uint64_t va;
	int rc;

	for (int i = 0; i < argc; i++) {
		bool from_stdin = !strcmp(argv[i], "-");

		while (from_stdin ? fgets(line, sizeof(line), stdin) != NULL
				  : true) {
			const char *s = argv[i];

			if (from_stdin) {
				line[strcspn(line, " \t\r\n")] = 0;
				if (!line[0])
					continue;
				s = line;
			}
			if (parse_u64(s, &va, &why) < 0)
				return cli_usage(cli, "VA '%s': %s", s, why);
			rc = translate_one(h, va, arr);
			if (rc < 0)
				return cli_lib_err(cli, rc, NULL);
			*unmapped += rc;
			if (!from_stdin)
				break;
		}
	}
	return 0;
}

enum { OPT_ROOT = OPT_FIRST_CMD };

static int translate_main(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		COMMON_LONGOPTS
	};
	json_object *obj = NULL, *arr = NULL;
	const char *root = NULL;
	int c, rc, unmapped = 0;
	xfm_vm_root r;
	xfm_handle *h;

	while ((c = getopt_long(argc, argv, ":" COMMON_SHORTOPTS, opts,
				NULL)) != -1) {
		if (c == OPT_ROOT)
			root = optarg;
		else if ((rc = cli_common_opt(cli, &cmd_translate, c, argv)) >= 0)
			return rc;
	}
	if (optind >= argc)
		return cli_usage(cli, "missing SOURCE (see 'xfm help translate')");
	if (optind + 1 >= argc)
		return cli_usage(cli, "missing VA");
	rc = cli_open(cli, argv[optind], 0, &h);
	if (rc)
		return rc;
	rc = cli_va_root(cli, h, root);
	if (rc)
		goto out;
	rc = xfm_get_vm_root(h, &r, sizeof(r));
	if (rc < 0) {
		rc = cli_lib_err(cli, rc, NULL);
		goto out;
	}
	if (cli->json) {
		obj = json_object_new_object();
		arr = json_object_new_array();
	}
	print_root(cli, &r, obj);
	rc = translate_all(cli, h, argc - optind - 1, argv + optind + 1, arr,
			   &unmapped);
	if (obj) {
		json_object_object_add(obj, "translations", arr);
		if (!rc && json_emit(obj) < 0)
			rc = EXIT_RUNTIME;
		else if (rc)
			json_object_put(obj);
	}
	if (!rc && unmapped)
		rc = EXIT_RANGE;
out:
	xfm_close(h);
	return rc;
}

const struct command cmd_translate = {
	.name = "translate",
	.summary = "guest-virtual to guest-physical through the page tables",
	.usage =
	"Usage: xfm translate [--root ROOT] SOURCE VA... | -\n"
	"\n"
	"Translate each VA (or one per line from stdin for '-') through the\n"
	"guest's page tables: the guest-physical address, the size of the\n"
	"page or block mapping it, the level of the last entry; for an\n"
	"unmapped VA, which level and entry and why.  Exit status 4 when\n"
	"any VA is not mapped.\n"
	"\n"
	"  --root ROOT  the page-table root: x86_64:CR3, la57:CR3, pae:CR3,\n"
	"               x86_32:CR3, x86_32_pse:CR3, arm64:TTBR0,TTBR1,TCR;\n"
	"               'vcpu' (vCPU 0's registers: live QEMU, QEMU dump,\n"
	"               live Xen guest; pause a running guest for a root\n"
	"               that stays its current process's)\n"
	"               or 'kernel' (the guest\n"
	"               kernel's own tables, from its VMCOREINFO).\n"
	"               Without it: vCPU 0's registers where the source has\n"
	"               them (live QEMU, live Xen), else the guest kernel's\n"
	"               own root\n"
	"               from its VMCOREINFO (kernel addresses only).\n"
	"  --json       {\"root\": {...}, \"translations\": [{\"va\", \"mapped\",\n"
	"               \"pa\", \"page_size\" | \"reason\", \"level\", \"entry\",\n"
	"               \"entry_addr\"}]}\n",
	.run = translate_main,
};
