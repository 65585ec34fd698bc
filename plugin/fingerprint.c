/* fingerprint.c — a normalized walk of final IR, hashed with XXH3-128 (see fingerprint.h):
 * functions instruction by instruction, with their attributes and code-shaping metadata, and the
 * public entry points.  What operands refer to is put by fingerprint_values.c; the state and the
 * primitives both share are in fingerprint_walk.h. */
#include "fingerprint_walk.h"

#include <llvm-c/Target.h>

/* Argument attributes that decide the calling sequence; the others (noundef, nonnull, range,
 * ...) are facts the optimizer inferred, and change with any edit of the body. */
static const char *const abi_attributes[] = {
	"zeroext", "signext", "inreg", "byval", "sret", "inalloca", "preallocated", "nest",
	"swiftself", "swifterror", "swiftasync", "byref",
};

/* Instruction metadata that changes what the backend emits; everything else (debug locations,
 * annotations, source locations of inline asm) is left out. */
static const char *const code_metadata[] = {
	"prof", "range", "nonnull", "align", "noundef", "dereferenceable",
	"dereferenceable_or_null", "invariant.load", "nontemporal", "unpredictable", "llvm.loop",
	"tbaa", "tbaa.struct", "alias.scope", "noalias", "callees", "llvm.access.group",
	"absolute_symbol", "noalias.addrspace",
};

/* Module flags that only describe debug information. */
static int is_debug_flag(const char *key, size_t len)
{
	static const char *const debug[] = { "Debug Info Version", "Dwarf Version", "CodeView",
		                             "CodeViewGHash", "DwarfSplitDebugInfo",
	                                 "debug-info-assignment-tracking" };
	for (size_t i = 0; i < sizeof debug / sizeof *debug; i++)
		if (strlen(debug[i]) == len && !memcmp(debug[i], key, len))
			return 1;
	return 0;
}

static void put_attributes(struct hp_fingerprinter *fp, unsigned count, LLVMAttributeRef *attrs)
{
	put_u64(fp, count);
	for (unsigned i = 0; i < count; i++) {
		LLVMAttributeRef a = attrs[i];
		if (LLVMIsStringAttribute(a)) {
			unsigned klen = 0, vlen = 0;
			const char *k = LLVMGetStringAttributeKind(a, &klen);
			const char *v = LLVMGetStringAttributeValue(a, &vlen);
			put_tag(fp, 's');
			put_str(fp, k, klen);
			put_str(fp, v, vlen);
		} else if (LLVMIsTypeAttribute(a)) {
			put_tag(fp, 't');
			put_u64(fp, LLVMGetEnumAttributeKind(a));
			hp_fp_put_type(fp, LLVMGetTypeAttributeValue(a));
		} else {
			put_tag(fp, 'e');
			put_u64(fp, LLVMGetEnumAttributeKind(a));
			put_u64(fp, LLVMGetEnumAttributeValue(a));
		}
	}
}

static void put_function_attributes(struct hp_fingerprinter *fp, LLVMValueRef fn)
{
	unsigned nparams = LLVMCountParams(fn);
	for (long idx = -1; idx <= (long)nparams; idx++) {  /* function, return, each parameter */
		LLVMAttributeIndex ai = idx < 0 ? LLVMAttributeFunctionIndex : (LLVMAttributeIndex)idx;
		unsigned n = LLVMGetAttributeCountAtIndex(fn, ai);
		LLVMAttributeRef attrs[n ? n : 1];
		LLVMGetAttributesAtIndex(fn, ai, attrs);
		put_attributes(fp, n, attrs);
	}
}

static void put_call_attributes(struct hp_fingerprinter *fp, LLVMValueRef call)
{
	unsigned nargs = LLVMGetNumArgOperands(call);
	for (long idx = -1; idx <= (long)nargs; idx++) {
		LLVMAttributeIndex ai = idx < 0 ? LLVMAttributeFunctionIndex : (LLVMAttributeIndex)idx;
		unsigned n = LLVMGetCallSiteAttributeCount(call, ai);
		LLVMAttributeRef attrs[n ? n : 1];
		LLVMGetCallSiteAttributes(call, ai, attrs);
		put_attributes(fp, n, attrs);
	}
}

static void put_instruction_metadata(struct hp_fingerprinter *fp, LLVMValueRef inst)
{
	if (!LLVMHasMetadata(inst))  /* cheap, and the query below allocates */
		return;
	size_t n = 0;
	LLVMValueMetadataEntry *entries = LLVMInstructionGetAllMetadataOtherThanDebugLoc(inst, &n);
	for (size_t i = 0; i < n; i++) {
		unsigned kind = LLVMValueMetadataEntriesGetKind(entries, (unsigned)i);
		for (size_t k = 0; k < fp->md_kind_count; k++) {
			if (fp->md_kinds[k] != kind)
				continue;
			put_tag(fp, 'm');
			put_cstr(fp, code_metadata[k]);
			hp_fp_put_metadata(fp, LLVMMetadataAsValue(fp->ctx, LLVMValueMetadataEntriesGetMetadata(entries, (unsigned)i)));
		}
	}
	if (entries)
		LLVMDisposeValueMetadataEntries(entries);
}

static int is_debug_intrinsic(LLVMValueRef inst)
{
	if (LLVMGetInstructionOpcode(inst) != LLVMCall)
		return 0;
	LLVMValueRef callee = LLVMGetCalledValue(inst);
	if (!callee || !LLVMIsAFunction(callee))
		return 0;
	size_t len = 0;
	const char *name = LLVMGetValueName2(callee, &len);
	return len > 9 && !memcmp(name, "llvm.dbg.", 9);
}

static void put_instruction(struct hp_fingerprinter *fp, LLVMValueRef inst)
{
	LLVMOpcode op = LLVMGetInstructionOpcode(inst);
	put_tag(fp, 'I');
	put_u64(fp, op);
	hp_fp_put_type(fp, LLVMTypeOf(inst));
	switch (op) {
	case LLVMAdd: case LLVMSub: case LLVMMul: case LLVMShl:
		put_u64(fp, LLVMGetNUW(inst) | (uint64_t)LLVMGetNSW(inst) << 1);
		break;
	case LLVMUDiv: case LLVMSDiv: case LLVMLShr: case LLVMAShr:
		put_u64(fp, LLVMGetExact(inst));
		break;
	case LLVMZExt:
		put_u64(fp, LLVMGetNNeg(inst));
		break;
	case LLVMOr:
		put_u64(fp, LLVMGetIsDisjoint(inst));
		break;
	case LLVMICmp:
		put_u64(fp, LLVMGetICmpPredicate(inst));
		break;
	case LLVMFCmp:
		put_u64(fp, LLVMGetFCmpPredicate(inst));
		break;
	case LLVMAlloca:
		hp_fp_put_type(fp, LLVMGetAllocatedType(inst));
		put_u64(fp, LLVMGetAlignment(inst));
		break;
	case LLVMLoad: case LLVMStore:
		put_u64(fp, LLVMGetAlignment(inst));
		put_u64(fp, LLVMGetVolatile(inst) | (uint64_t)LLVMGetOrdering(inst) << 1);
		if (LLVMGetOrdering(inst) != LLVMAtomicOrderingNotAtomic)
			put_u64(fp, LLVMIsAtomicSingleThread(inst));
		break;
	case LLVMGetElementPtr:
		hp_fp_put_type(fp, LLVMGetGEPSourceElementType(inst));
		put_u64(fp, LLVMIsInBounds(inst));
		break;
	case LLVMExtractValue: case LLVMInsertValue: {
		unsigned n = LLVMGetNumIndices(inst);
		const unsigned *idx = LLVMGetIndices(inst);
		put(fp, idx, n * sizeof *idx);
		put_u64(fp, n);
		break;
	}
	case LLVMShuffleVector: {
		unsigned n = LLVMGetNumMaskElements(inst);
		for (unsigned i = 0; i < n; i++)
			put_u64(fp, (uint64_t)(int64_t)LLVMGetMaskValue(inst, i));
		break;
	}
	case LLVMAtomicRMW:
		put_u64(fp, LLVMGetAtomicRMWBinOp(inst));
		put_u64(fp, LLVMGetOrdering(inst) | (uint64_t)LLVMGetVolatile(inst) << 8 |
		                (uint64_t)LLVMIsAtomicSingleThread(inst) << 9);
		put_u64(fp, LLVMGetAlignment(inst));
		break;
	case LLVMAtomicCmpXchg:
		put_u64(fp, LLVMGetCmpXchgSuccessOrdering(inst) |
		                (uint64_t)LLVMGetCmpXchgFailureOrdering(inst) << 8 |
		                (uint64_t)LLVMGetVolatile(inst) << 16 | (uint64_t)LLVMGetWeak(inst) << 17 |
		                (uint64_t)LLVMIsAtomicSingleThread(inst) << 18);
		put_u64(fp, LLVMGetAlignment(inst));
		break;
	case LLVMFence:
		put_u64(fp, LLVMGetOrdering(inst) | (uint64_t)LLVMIsAtomicSingleThread(inst) << 8);
		break;
	case LLVMCall: case LLVMInvoke: case LLVMCallBr:
		hp_fp_put_type(fp, LLVMGetCalledFunctionType(inst));
		put_u64(fp, LLVMGetInstructionCallConv(inst));
		if (op == LLVMCall)
			put_u64(fp, LLVMGetTailCallKind(inst));
		put_call_attributes(fp, inst);
		put_u64(fp, LLVMGetNumOperandBundles(inst));
		break;
	case LLVMLandingPad:
		put_u64(fp, LLVMIsCleanup(inst));
		break;
	default:
		break;
	}
	if (LLVMCanValueUseFastMathFlags(inst))
		put_u64(fp, LLVMGetFastMathFlags(inst));

	int n = LLVMGetNumOperands(inst);
	put_u64(fp, (uint64_t)n);
	for (int i = 0; i < n; i++) {
		LLVMValueRef v = LLVMGetOperand(inst, (unsigned)i);
		if (!v)
			put_tag(fp, '0');
		else
			hp_fp_put_value(fp, v);
	}
	if (op == LLVMPHI) {  /* incoming blocks are not operands */
		unsigned in = LLVMCountIncoming(inst);
		for (unsigned i = 0; i < in; i++)
			hp_fp_put_value(fp, LLVMBasicBlockAsValue(LLVMGetIncomingBlock(inst, i)));
	}
	put_instruction_metadata(fp, inst);
}

/* ---- Public ------------------------------------------------------------------------------- */

struct hp_fingerprinter *hp_fingerprinter_new(LLVMModuleRef module)
{
	struct hp_fingerprinter *fp = calloc(1, sizeof *fp);
	if (!fp)
		return NULL;
	fp->ctx = LLVMGetModuleContext(module);
	for (size_t i = 0; i < sizeof abi_attributes / sizeof *abi_attributes; i++)
		fp->abi_kinds[fp->abi_kind_count++] =
		    LLVMGetEnumAttributeKindForName(abi_attributes[i], strlen(abi_attributes[i]));
	for (size_t i = 0; i < sizeof code_metadata / sizeof *code_metadata; i++)
		fp->md_kinds[fp->md_kind_count++] =
		    LLVMGetMDKindIDInContext(fp->ctx, code_metadata[i], (unsigned)strlen(code_metadata[i]));

	put_cstr(fp, LLVMGetTarget(module));
	put_cstr(fp, LLVMGetDataLayoutStr(module));
	size_t nflags = 0;
	LLVMModuleFlagEntry *flags = LLVMCopyModuleFlagsMetadata(module, &nflags);
	for (size_t i = 0; i < nflags; i++) {
		size_t klen = 0;
		const char *key = LLVMModuleFlagEntriesGetKey(flags, (unsigned)i, &klen);
		if (is_debug_flag(key, klen))
			continue;
		put_str(fp, key, klen);
		put_u64(fp, LLVMModuleFlagEntriesGetFlagBehavior(flags, (unsigned)i));
		hp_fp_put_metadata(fp, LLVMMetadataAsValue(fp->ctx, LLVMModuleFlagEntriesGetMetadata(flags, (unsigned)i)));
	}
	if (flags)
		LLVMDisposeModuleFlagsMetadata(flags);
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, hash_since(fp, 0));
	memcpy(fp->module_hash, c.digest, 16);
	return fp;
}

void hp_fingerprinter_free(struct hp_fingerprinter *fp)
{
	if (!fp)
		return;
	free(fp->buf);
	free(fp->consts);
	hp_ptrmap_free(&fp->local);
	hp_ptrmap_free(&fp->content);
	free(fp->contents);
	free(fp);
}

static void digest(struct hp_fingerprinter *fp, uint8_t out[16])
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, hash_since(fp, 0));
	memcpy(out, c.digest, 16);
}

/* The shape: the buffer without the spans of integer constant values. */
static void shape_digest(struct hp_fingerprinter *fp, uint8_t out[16])
{
	XXH3_state_t *st = XXH3_createState();
	if (!st)
		abort();
	XXH3_128bits_reset(st);
	size_t at = 0;
	for (size_t i = 0; i < fp->const_count; i++) {
		XXH3_128bits_update(st, fp->buf + at, fp->consts[i].at - at);
		at = fp->consts[i].at + fp->consts[i].len;
	}
	XXH3_128bits_update(st, fp->buf + at, fp->len - at);
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
	memcpy(out, c.digest, 16);
	XXH3_freeState(st);
}

void hp_fingerprint_function(struct hp_fingerprinter *fp, LLVMValueRef fn, uint8_t out[16],
                             uint8_t shape[16])
{
	/* Number arguments, blocks and instructions first: phis refer forward. */
	hp_ptrmap_clear(&fp->local);
	uint32_t pos = 0;
	for (LLVMValueRef a = LLVMGetFirstParam(fn); a; a = LLVMGetNextParam(a))
		hp_ptrmap_put(&fp->local, a, pos++);
	for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb)) {
		hp_ptrmap_put(&fp->local, LLVMBasicBlockAsValue(bb), pos++);
		for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i))
			hp_ptrmap_put(&fp->local, i, pos++);
	}

	fp->len = 0;
	fp->const_count = 0;
	put(fp, fp->module_hash, 16);
	put_tag(fp, 'F');
	hp_fp_put_type(fp, LLVMGlobalGetValueType(fn));
	put_u64(fp, LLVMGetLinkage(fn));
	put_u64(fp, LLVMGetVisibility(fn));
	put_u64(fp, LLVMGetFunctionCallConv(fn));
	put_u64(fp, LLVMGetAlignment(fn));
	put_cstr(fp, LLVMGetSection(fn));
	put_cstr(fp, LLVMGetGC(fn));
	put_function_attributes(fp, fn);
	if (LLVMHasPersonalityFn(fn))
		hp_fp_put_value(fp, LLVMGetPersonalityFn(fn));
	if (LLVMHasPrefixData(fn))
		hp_fp_put_value(fp, LLVMGetPrefixData(fn));
	if (LLVMHasPrologueData(fn))
		hp_fp_put_value(fp, LLVMGetPrologueData(fn));

	for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb)) {
		put_tag(fp, 'B');
		for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i))
			if (!is_debug_intrinsic(i))
				put_instruction(fp, i);
	}
	if (shape)
		shape_digest(fp, shape);
	digest(fp, out);
}

void hp_fingerprint_abi(struct hp_fingerprinter *fp, LLVMValueRef fn, uint8_t out[16])
{
	fp->len = 0;
	fp->const_count = 0;
	put_tag(fp, 'C');
	hp_fp_put_type(fp, LLVMGlobalGetValueType(fn));
	put_u64(fp, LLVMGetFunctionCallConv(fn));
	unsigned nparams = LLVMCountParams(fn);
	for (unsigned idx = 0; idx <= nparams; idx++) {  /* return, then each parameter */
		unsigned n = LLVMGetAttributeCountAtIndex(fn, idx);
		LLVMAttributeRef attrs[n ? n : 1];
		LLVMGetAttributesAtIndex(fn, idx, attrs);
		put_u64(fp, idx);
		for (unsigned i = 0; i < n; i++) {
			if (LLVMIsStringAttribute(attrs[i]))
				continue;
			unsigned kind = LLVMGetEnumAttributeKind(attrs[i]);
			for (size_t k = 0; k < fp->abi_kind_count; k++)
				if (fp->abi_kinds[k] == kind)
					put_attributes(fp, 1, &attrs[i]);
		}
	}
	digest(fp, out);
}

void hp_fingerprint_variable(struct hp_fingerprinter *fp, LLVMValueRef gv, uint8_t out[16])
{
	hp_ptrmap_clear(&fp->local);
	fp->len = 0;
	fp->const_count = 0;
	put(fp, fp->module_hash, 16);
	put_tag(fp, 'V');
	hp_fp_put_type(fp, LLVMGlobalGetValueType(gv));
	put_u64(fp, LLVMGetLinkage(gv));
	put_u64(fp, LLVMGetVisibility(gv));
	put_u64(fp, LLVMGetAlignment(gv));
	put_u64(fp, LLVMIsGlobalConstant(gv) | (uint64_t)LLVMGetThreadLocalMode(gv) << 1 |
	                (uint64_t)LLVMIsExternallyInitialized(gv) << 8);
	put_cstr(fp, LLVMGetSection(gv));
	LLVMValueRef init = LLVMGetInitializer(gv);
	if (init)
		hp_fp_put_constant(fp, init);
	digest(fp, out);
}
