/* pass.c — the plugin's IR pass, on the final IR: make file-local names unique, add patchable
 * prologues, fingerprint every function and variable and write the ".hotpatch" section,
 * joining what the front end knew of each (types, callees, source fingerprint). */
#include "plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <llvm-c/Target.h>
#include <xxhash.h>

#include "emit.h"
#include "fingerprint.h"
#include "hp_meta.h"
#include "site.h"
#include "source_paths.h"

#define EXCLUDE_ANNOTATION "hotpatch_exclude"

/* A function whose code this translation unit emits (available_externally bodies are copies
 * for inlining only). */
static int is_defined_function(LLVMValueRef fn)
{
	return !LLVMIsDeclaration(fn) && !LLVMGetIntrinsicID(fn) &&
	       LLVMGetLinkage(fn) != LLVMAvailableExternallyLinkage;
}

/* The emitted section is the marker: a module carries it once. */
static int already_finished(LLVMModuleRef module)
{
	size_t len = 0;
	const char *text = LLVMGetModuleInlineAsm(module, &len);
	for (size_t i = 0; text && i + sizeof HP_META_SECTION < len; i++)
		if (!memcmp(text + i, HP_META_SECTION ",", sizeof HP_META_SECTION))
			return 1;
	return 0;
}

/* One symbol the unit records, in record order: defined functions and recorded variables in
 * module order, then functions inlined away.  Everything decided per symbol sits here, so that
 * nothing is kept aligned with the module's order by walking it again. */
struct symbol {
	LLVMValueRef value;       /* NULL: inlined away, no code of its own */
	char *source_name;        /* the name before renaming: what the front end knows it by */
	uint32_t record;          /* its record in the blob */
	unsigned is_function : 1;
	unsigned excluded : 1;    /* functions: opted out of the patchable prologue */
	unsigned static_local : 1;  /* variables: a function's static */
};

struct finish {
	LLVMModuleRef module;
	LLVMContextRef ctx;
	const struct hp_plugin_options *options;
	const struct hp_source_info *source;
	struct hp_fingerprinter *fp;
	struct hp_blob blob;
	char *decl_used;          /* per source decl: it has a record */
	uint32_t *type_map;       /* source type index -> blob type index + 1 (0: not yet added) */
	struct symbol *symbols;   /* collect_symbols(), then add_inlined_away() */
	size_t symbol_count, symbol_cap;
	char suffix[32];          /* appended to file-local names: ".__uniq.<hash of the unit>" */
	const struct hp_site_arch *arch;  /* the target's patch site (contract/site.h) */
	char *err;
	size_t err_size;
};

static int fail(struct finish *f, const char *what)
{
	snprintf(f->err, f->err_size, "%s", what);
	return -1;
}

/* Appends a symbol named source_name (copied); NULL when out of memory. */
static struct symbol *new_symbol(struct finish *f, LLVMValueRef value, const char *source_name)
{
	if (f->symbol_count == f->symbol_cap) {
		size_t cap = f->symbol_cap ? f->symbol_cap * 2 : 256;
		struct symbol *p = realloc(f->symbols, cap * sizeof *p);
		if (!p)
			return NULL;
		f->symbols = p;
		f->symbol_cap = cap;
	}
	char *name = strdup(source_name);
	if (!name)
		return NULL;
	struct symbol *s = &f->symbols[f->symbol_count++];
	*s = (struct symbol){ .value = value, .source_name = name };
	return s;
}

static const struct hp_source_decl *find_decl(const struct hp_source_info *src, const char *name)
{
	size_t lo = 0, hi = src ? src->decl_count : 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(src->decls[mid].symbol, name);
		if (!c)
			return &src->decls[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Functions named in an array-of-structs global such as llvm.global_ctors (field 1) or
 * llvm.global.annotations (field 0 = function, field 1 = annotation string). */
static int in_struct_list(LLVMModuleRef m, const char *list, unsigned field, LLVMValueRef fn,
                          const char *annotation)
{
	LLVMValueRef g = LLVMGetNamedGlobal(m, list);
	LLVMValueRef init = g ? LLVMGetInitializer(g) : NULL;
	if (!init)
		return 0;
	int n = LLVMGetNumOperands(init);
	for (int i = 0; i < n; i++) {
		LLVMValueRef entry = LLVMGetOperand(init, (unsigned)i);
		if (LLVMGetNumOperands(entry) <= (int)field || LLVMGetOperand(entry, field) != fn)
			continue;
		if (!annotation)
			return 1;
		LLVMValueRef str = LLVMGetOperand(entry, 1);
		LLVMValueRef str_init = LLVMIsAGlobalVariable(str) ? LLVMGetInitializer(str) : NULL;
		size_t len = 0;
		const char *s = str_init && LLVMIsAConstantDataSequential(str_init) ?
		                    LLVMGetAsString(str_init, &len) : NULL;
		if (s && len >= strlen(annotation) && !strncmp(s, annotation, strlen(annotation)))
			return 1;
	}
	return 0;
}

static int is_excluded(struct finish *f, LLVMValueRef fn, const char *name)
{
	for (size_t i = 0; i < f->options->exclude_count; i++)
		if (!strcmp(f->options->exclude[i], name))
			return 1;
	unsigned naked = LLVMGetEnumAttributeKindForName("naked", 5);
	if (LLVMGetEnumAttributeAtIndex(fn, LLVMAttributeFunctionIndex, naked))
		return 1;
	return in_struct_list(f->module, "llvm.global.annotations", 0, fn, EXCLUDE_ANNOTATION);
}

/* Whether the function's first bytes might not all belong to its entry block, in which case a
 * block that other blocks branch to (a loop header) could start at the entry or one byte past it,
 * inside the site: a thread looping there would run the jump written over it.  The entry block
 * itself has no predecessors, so the site is safe when that block holds at least HP_SITE_SIZE
 * bytes of code before anything else starts.  It does when it ends in a conditional branch or a
 * switch (their jumps are 2 bytes or more and stay in the block) or returns after some other
 * instruction (a function of one block; one that returns at once would be a lone `ret`).  Any
 * other entry (an unconditional branch, the usual way into a loop; nothing but a return) may emit
 * no more than a 1-byte push, or nothing at all, before the next block: those keep LLVM's 2-byte
 * minimum. */
static int entry_may_be_branch_target(LLVMValueRef fn)
{
	LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(fn);
	LLVMValueRef term = entry ? LLVMGetBasicBlockTerminator(entry) : NULL;
	if (!term)
		return 1;
	switch (LLVMGetInstructionOpcode(term)) {
	case LLVMBr:
		return !LLVMIsConditional(term);
	case LLVMSwitch:
		return 0;
	case LLVMRet:
		for (LLVMValueRef i = LLVMGetFirstInstruction(entry); i != term; i = LLVMGetNextInstruction(i))
			if (!LLVMIsAAllocaInst(i) && !LLVMIsADbgInfoIntrinsic(i) &&
			    !(LLVMIsAIntrinsicInst(i) && (LLVMGetIntrinsicID(LLVMGetCalledValue(i)) ==
			                                      LLVMLookupIntrinsicID("llvm.lifetime.start", 19) ||
			                                  LLVMGetIntrinsicID(LLVMGetCalledValue(i)) ==
			                                      LLVMLookupIntrinsicID("llvm.lifetime.end", 17))))
				return 0;
		return LLVMGetNumOperands(term) == 0;  /* `ret void` alone is a 1-byte function */
	default:
		return 1;
	}
}

static void add_string_attribute(struct finish *f, LLVMValueRef fn, const char *key, const char *value)
{
	LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
	                        LLVMCreateStringAttribute(f->ctx, key, (unsigned)strlen(key), value, (unsigned)strlen(value)));
}

/* The patchable prologue of the target's architecture (contract/site.h; docs/design.md, "The
 * prologue"), as LLVM function attributes.  x86-64: padding before the symbol, a first
 * instruction at least as long as the site, which the runtime overwrites with a short jump into
 * the padding, and an alignment that keeps the site inside one aligned block (the padding starts
 * the block; the site sits at offset 8, or 12 after endbr64); with entry=padding-only the first
 * instruction is left as it is where the entry block is sure to hold the site (plugin.h, enum
 * hp_entry_mode).  AArch64: the entry NOP, always (only a NOP may become a B under running
 * threads).  A -fpatchable-function-entry of the command line gives way to it. */
static void add_prologue(struct finish *f, LLVMValueRef fn)
{
	const struct hp_site_arch *a = f->arch;
	LLVMRemoveStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex, "patchable-function-entry",
	                                 (unsigned)strlen("patchable-function-entry"));
	LLVMRemoveStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex, "patchable-function-prefix",
	                                 (unsigned)strlen("patchable-function-prefix"));
	if (a->prefix_value)
		add_string_attribute(f, fn, "patchable-function-prefix", a->prefix_value);
	if (!(a->entry_optional && f->options->entry == HP_ENTRY_PADDING_ONLY && !entry_may_be_branch_target(fn)))
		add_string_attribute(f, fn, a->entry_key, a->entry_value);
	if (LLVMGetAlignment(fn) < a->align)
		LLVMSetAlignment(fn, a->align);
}

static uint8_t linkage_of(LLVMValueRef g)
{
	switch (LLVMGetLinkage(g)) {
	case LLVMInternalLinkage:
	case LLVMPrivateLinkage:
		return HP_META_INTERNAL;
	case LLVMWeakAnyLinkage:
	case LLVMWeakODRLinkage:
	case LLVMExternalWeakLinkage:
		return HP_META_WEAK;
	case LLVMLinkOnceAnyLinkage:
	case LLVMLinkOnceODRLinkage:
		return HP_META_LINKONCE;
	case LLVMCommonLinkage:
		return HP_META_COMMON;
	default:
		return HP_META_EXTERNAL;
	}
}

/* The values a function's body took from __LINE__ and its source with them masked: what lets
 * hpdiff tell a function that only moved to other lines (docs/hpdiff.md, "Line numbers"). */
static int add_lines(struct finish *f, const struct hp_source_decl *u, struct hp_meta_record *r)
{
	r->lines_first = (uint32_t)f->blob.index_count;
	for (size_t i = 0; u && i < u->line_count; i++)
		if (hp_blob_index(&f->blob, u->lines[i]))
			return fail(f, "out of memory");
	r->lines_count = (uint32_t)(f->blob.index_count - r->lines_first);
	if (u)
		memcpy(r->lines_fingerprint, u->lines_fingerprint, 16);
	return 0;
}

/* Lists the types a symbol uses itself in the blob; its layout fingerprint also covers those
 * of the same-file functions it may inline (the front end computed it). */
static int add_type_uses(struct finish *f, const struct hp_source_decl *u, struct hp_meta_record *r)
{
	r->types_first = (uint32_t)f->blob.index_count;
	for (size_t i = 0; u && i < u->type_count; i++) {
		const struct hp_source_type *t = &f->source->types[u->types[i]];
		if (!f->type_map[u->types[i]]) {
			struct hp_meta_type mt = { .size = t->size };
			memcpy(mt.layout, t->layout, 16);
			if (hp_blob_string(&f->blob, t->name, &mt.name) || hp_blob_type(&f->blob, &mt))
				return fail(f, "out of memory");
			f->type_map[u->types[i]] = (uint32_t)f->blob.type_count;
		}
		if (hp_blob_index(&f->blob, f->type_map[u->types[i]] - 1))
			return fail(f, "out of memory");
	}
	r->types_count = (uint32_t)(f->blob.index_count - r->types_first);
	if (add_lines(f, u, r))
		return -1;
	if (u) {
		memcpy(r->layout_fingerprint, u->layout, 16);
		memcpy(r->source_fingerprint, u->source_fingerprint, 16);
		f->decl_used[u - f->source->decls] = 1;
	}
	return 0;
}

static int calls_itself(LLVMValueRef fn)
{
	for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb))
		for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i)) {
			LLVMOpcode op = LLVMGetInstructionOpcode(i);
			if ((op == LLVMCall || op == LLVMInvoke) && LLVMGetCalledValue(i) == fn)
				return 1;
		}
	return 0;
}

/* A function's record; callees are resolved to record indices after all records exist. */
static int add_function(struct finish *f, LLVMValueRef fn, const char *source_name, int excluded)
{
	struct hp_meta_record r = { .kind = HP_META_FUNCTION, .linkage = linkage_of(fn) };
	size_t len = 0;
	const char *name = LLVMGetValueName2(fn, &len);
	if (hp_blob_string(&f->blob, name, &r.name))
		return fail(f, "out of memory");
	if (excluded)
		r.flags |= HP_META_NO_PATCH;
	if (in_struct_list(f->module, "llvm.global_ctors", 1, fn, NULL))
		r.flags |= HP_META_CONSTRUCTOR;
	if (in_struct_list(f->module, "llvm.global_dtors", 1, fn, NULL))
		r.flags |= HP_META_DESTRUCTOR;
	if (LLVMIsFunctionVarArg(LLVMGlobalGetValueType(fn)))
		r.flags |= HP_META_VARIADIC;
	if (calls_itself(fn))
		r.flags |= HP_META_RECURSIVE;
	hp_fingerprint_function(f->fp, fn, r.fingerprint, r.shape_fingerprint);
	hp_fingerprint_abi(f->fp, fn, r.abi_fingerprint);
	if (add_type_uses(f, find_decl(f->source, source_name), &r))
		return -1;
	return hp_blob_record(&f->blob, &r) ? fail(f, "out of memory") : 0;
}

static int is_zero_initializer(LLVMValueRef init)
{
	LLVMValueKind k = LLVMGetValueKind(init);
	return k == LLVMConstantAggregateZeroValueKind || k == LLVMConstantPointerNullValueKind ||
	       (k == LLVMConstantIntValueKind && LLVMConstIntGetZExtValue(init) == 0 &&
	        LLVMGetIntTypeWidth(LLVMTypeOf(init)) <= 64);
}

static int add_variable(struct finish *f, LLVMValueRef gv, const char *source_name, int static_local)
{
	LLVMTargetDataRef td = LLVMGetModuleDataLayout(f->module);
	struct hp_meta_record r = { .kind = HP_META_VARIABLE, .linkage = linkage_of(gv) };
	size_t len = 0;
	const char *name = LLVMGetValueName2(gv, &len);
	if (hp_blob_string(&f->blob, name, &r.name))
		return fail(f, "out of memory");
	r.size = LLVMABISizeOfType(td, LLVMGlobalGetValueType(gv));
	if (LLVMIsGlobalConstant(gv))
		r.flags |= HP_META_CONSTANT;
	if (LLVMGetThreadLocalMode(gv) != LLVMNotThreadLocal)
		r.flags |= HP_META_THREAD_LOCAL;
	if (static_local)
		r.flags |= HP_META_STATIC_LOCAL;
	if (LLVMGetInitializer(gv) && is_zero_initializer(LLVMGetInitializer(gv)))
		r.flags |= HP_META_ZERO_INIT;
	hp_fingerprint_variable(f->fp, gv, r.fingerprint);
	if (add_type_uses(f, find_decl(f->source, source_name), &r))
		return -1;
	return hp_blob_record(&f->blob, &r) ? fail(f, "out of memory") : 0;
}

static int is_recorded_variable(LLVMValueRef gv)
{
	size_t len = 0;
	const char *name = LLVMGetValueName2(gv, &len);
	const char *section = LLVMGetSection(gv);
	if (LLVMIsDeclaration(gv) || LLVMGetLinkage(gv) == LLVMPrivateLinkage || !len)
		return 0;
	if (!strncmp(name, "llvm.", 5) || (section && !strcmp(section, "llvm.metadata")))
		return 0;
	/* Unnamed-address internal constants are content: they travel with the code using them. */
	return !(LLVMGetLinkage(gv) == LLVMInternalLinkage && LLVMIsGlobalConstant(gv) &&
	         LLVMGetUnnamedAddress(gv) == LLVMGlobalUnnamedAddr);
}

/* "fn.var" with fn a function of this module: clang's name for a static local. */
static int is_static_local_name(LLVMModuleRef m, const char *name)
{
	const char *dot = strchr(name, '.');
	if (!dot || dot == name)
		return 0;
	char fn[dot - name + 1];
	memcpy(fn, name, (size_t)(dot - name));
	fn[dot - name] = 0;
	LLVMValueRef f = LLVMGetNamedFunction(m, fn);
	return f && !LLVMIsDeclaration(f);
}

/* Per source decl: 1 when a recorded function's call list reaches it, directly or through
 * functions that have no code of their own.  NULL when out of memory (or no source info). */
static char *reached_decls(struct finish *f)
{
	const struct hp_source_info *src = f->source;
	if (!src)
		return NULL;
	size_t n = src->decl_count;
	char *reached = calloc(n + 1, 1);
	size_t *work = malloc((n + 1) * sizeof *work), top = 0;
	if (!reached || !work) {
		free(reached);
		free(work);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (f->decl_used[i]) {
			reached[i] = 1;
			work[top++] = i;
		}
	while (top) {
		const struct hp_source_decl *d = &src->decls[work[--top]];
		for (size_t c = 0; c < d->callee_count; c++) {
			const struct hp_source_decl *e = find_decl(src, d->callees[c]);
			if (e && !reached[e - src->decls]) {
				reached[e - src->decls] = 1;
				work[top++] = (size_t)(e - src->decls);
			}
		}
	}
	free(work);
	return reached;
}


/* Walks the module once, in the order records are written: defined functions, then recorded
 * variables.  Whatever depends on a symbol's source name (the name the front end knows it by,
 * the opt-outs, clang's name for a static local) is decided here, before renaming. */
static int collect_symbols(struct finish *f)
{
	size_t len = 0;
	for (LLVMValueRef fn = LLVMGetFirstFunction(f->module); fn; fn = LLVMGetNextFunction(fn)) {
		if (!is_defined_function(fn))
			continue;
		struct symbol *s = new_symbol(f, fn, LLVMGetValueName2(fn, &len));
		if (!s)
			return fail(f, "out of memory");
		s->is_function = 1;
		s->excluded = is_excluded(f, fn, s->source_name);
	}
	for (LLVMValueRef g = LLVMGetFirstGlobal(f->module); g; g = LLVMGetNextGlobal(g)) {
		if (!is_recorded_variable(g))
			continue;
		struct symbol *s = new_symbol(f, g, LLVMGetValueName2(g, &len));
		if (!s)
			return fail(f, "out of memory");
		s->static_local = is_static_local_name(f->module, s->source_name);
	}
	return 0;
}

/* Gives every file-local symbol a name unique to its translation unit (hazard 6), stable
 * across checkouts because it derives from the source identity, not the path. */
static int make_local_names_unique(struct finish *f, const char *tu)
{
	snprintf(f->suffix, sizeof f->suffix, ".__uniq.%llu", (unsigned long long)XXH3_64bits(tu, strlen(tu)));
	const char *suffix = f->suffix;
	size_t slen = strlen(suffix);
	for (size_t i = 0; i < f->symbol_count; i++) {
		LLVMValueRef g = f->symbols[i].value;
		if (LLVMGetLinkage(g) != LLVMInternalLinkage)
			continue;
		size_t len = 0;
		const char *name = LLVMGetValueName2(g, &len);
		if (!len || strstr(name, ".__uniq."))
			continue;
		char *renamed = malloc(len + slen + 1);
		if (!renamed)
			return fail(f, "out of memory");
		memcpy(renamed, name, len);
		memcpy(renamed + len, suffix, slen + 1);
		LLVMSetValueName2(g, renamed, len + slen);
		free(renamed);
	}
	return 0;
}

/* A record's source name and index, sorted by name to resolve call lists. */
struct named_record {
	const char *name;
	uint32_t index;
};

static int named_record_cmp(const void *a, const void *b)
{
	return strcmp(((const struct named_record *)a)->name, ((const struct named_record *)b)->name);
}

/* The records' call lists: the same-file functions each refers to in source, by record index. */
static int add_calls(struct finish *f)
{
	size_t n = 0;
	struct named_record *by_name = calloc(f->symbol_count + 1, sizeof *by_name);
	if (!by_name)
		return fail(f, "out of memory");
	for (size_t i = 0; i < f->symbol_count; i++)
		if (f->symbols[i].is_function)
			by_name[n++] = (struct named_record){ f->symbols[i].source_name, f->symbols[i].record };
	qsort(by_name, n, sizeof *by_name, named_record_cmp);
	for (size_t i = 0; i < f->symbol_count; i++) {
		const struct symbol *s = &f->symbols[i];
		struct hp_meta_record *rec = &f->blob.records[s->record];
		const struct hp_source_decl *d = s->is_function ? find_decl(f->source, s->source_name) : NULL;
		rec->calls_first = (uint32_t)f->blob.index_count;
		for (size_t c = 0; d && c < d->callee_count; c++) {
			struct named_record key = { d->callees[c], 0 };
			struct named_record *hit = bsearch(&key, by_name, n, sizeof key, named_record_cmp);
			if (hit && hit->index != s->record && hp_blob_index(&f->blob, hit->index)) {
				free(by_name);
				return fail(f, "out of memory");
			}
		}
		rec->calls_count = (uint32_t)(f->blob.index_count - rec->calls_first);
	}
	free(by_name);
	return 0;
}

/* Functions that optimization folded away entirely, so callers can still be explained: those
 * the recorded code reaches through call lists.  Not every function some inline function refers
 * to: a C++ unit's headers name hundreds that no emitted code uses. */
static int add_inlined_away(struct finish *f)
{
	const struct hp_source_info *src = f->source;
	char *reached = reached_decls(f);
	if (src && !reached)
		return fail(f, "out of memory");
	for (size_t i = 0; src && i < src->decl_count; i++) {
		const struct hp_source_decl *d = &src->decls[i];
		if (!d->is_function || !d->is_referenced || f->decl_used[i] || !reached[i])
			continue;
		struct hp_meta_record r = { .kind = HP_META_FUNCTION, .flags = HP_META_INLINED_AWAY };
		int local = d->is_local;  /* its record name takes the unit's suffix, as if it had code */
		r.linkage = local ? HP_META_INTERNAL : HP_META_EXTERNAL;
		struct symbol *s = new_symbol(f, NULL, d->symbol);
		char *record_name = malloc(strlen(d->symbol) + sizeof f->suffix);
		if (!s || !record_name) {
			free(record_name);
			free(reached);
			return fail(f, "out of memory");
		}
		s->is_function = 1;
		sprintf(record_name, "%s%s", d->symbol, local ? f->suffix : "");
		int rc = hp_blob_string(&f->blob, record_name, &r.name);
		free(record_name);
		s->record = (uint32_t)f->blob.record_count;
		if (rc || add_type_uses(f, d, &r) || hp_blob_record(&f->blob, &r)) {
			free(reached);
			return fail(f, "out of memory");
		}
	}
	free(reached);
	return 0;
}

static int finish_module(struct finish *f)
{
	const struct hp_source_info *src = f->source;
	size_t len = 0;
	const char *main_file = src && src->main_file ? src->main_file : LLVMGetSourceFileName(f->module, &len);
	char *tu = hp_source_identity(main_file, f->options->root);
	char producer[64];
	unsigned major = 0, minor = 0, patch = 0;
	LLVMGetVersion(&major, &minor, &patch);
	snprintf(producer, sizeof producer, "LLVM %u.%u.%u (IR input)", major, minor, patch);
	const char *options = src ? src->options : "ir-input";
	if (!tu)
		return fail(f, "out of memory");

	struct hp_meta_header *h = &f->blob.header;
	h->flags = src ? src->tu_flags : HP_META_TU_NO_LAYOUTS;
	XXH128_canonical_t oh;
	XXH128_canonicalFromHash(&oh, XXH3_128bits(options, strlen(options)));
	memcpy(h->options_hash, oh.digest, 16);
	int rc = -1;
	if (hp_blob_string(&f->blob, tu, &h->tu_name) ||
	    hp_blob_string(&f->blob, src ? src->producer : producer, &h->producer) ||
	    hp_blob_string(&f->blob, LLVMGetTarget(f->module), &h->triple) ||
	    hp_blob_string(&f->blob, options, &h->options)) {
		fail(f, "out of memory");
		goto out;
	}

	if (collect_symbols(f) || make_local_names_unique(f, tu))
		goto out;
	for (size_t i = 0; i < f->symbol_count; i++)
		if (f->symbols[i].is_function && !f->symbols[i].excluded)
			add_prologue(f, f->symbols[i].value);

	if (!(f->fp = hp_fingerprinter_new(f->module))) {
		fail(f, "out of memory");
		goto out;
	}
	/* One record per symbol, in the same order: a symbol's record index is its own. */
	for (size_t i = 0; i < f->symbol_count; i++) {
		struct symbol *s = &f->symbols[i];
		s->record = (uint32_t)f->blob.record_count;
		if (s->is_function ? add_function(f, s->value, s->source_name, s->excluded) :
		                     add_variable(f, s->value, s->source_name, s->static_local))
			goto out;
	}
	if (add_inlined_away(f) || add_calls(f))
		goto out;
	if (hp_blob_emit(&f->blob, f->module)) {
		fail(f, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(tu);
	return rc;
}

int hp_plugin_finish(LLVMModuleRef module, const struct hp_plugin_options *options,
                     const struct hp_source_info *source, char *err, size_t err_size)
{
	if (already_finished(module))
		return 0;
	struct finish f = { .module = module, .ctx = LLVMGetModuleContext(module), .options = options,
		            .source = source, .err = err, .err_size = err_size };
	err[0] = 0;
	const char *triple = LLVMGetTarget(module);
	if (!(f.arch = hp_site_arch_for_triple(triple))) {
		snprintf(err, err_size, "target '%s' is not supported: hotpatch lays out patch sites for x86-64 and "
		         "AArch64 code only (drop -fplugin=hotpatch for this target)", triple && *triple ? triple : "(none)");
		return -1;
	}
	f.type_map = calloc(source && source->type_count ? source->type_count : 1, sizeof *f.type_map);
	f.decl_used = calloc(source && source->decl_count ? source->decl_count : 1, 1);
	int rc = f.type_map && f.decl_used ? finish_module(&f) : fail(&f, "out of memory");
	hp_fingerprinter_free(f.fp);
	hp_blob_free(&f.blob);
	for (size_t i = 0; i < f.symbol_count; i++)
		free(f.symbols[i].source_name);
	free(f.symbols);
	free(f.decl_used);
	free(f.type_map);
	return rc;
}
