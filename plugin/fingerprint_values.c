/* fingerprint_values.c — the part of the fingerprint walk (fingerprint_walk.h) that puts what an
 * operand refers to: types by structure, integer and other constants by value, named globals by
 * name (and constant ones also by content), private constants (string literals, switch tables)
 * by content only, and metadata by content.  Content hashes are cached: many functions share a
 * table or a TBAA tree. */
#include "fingerprint_walk.h"

#include <llvm-c/DebugInfo.h>

/* Hashes the printed form of a value that has no name in it (numbers, undef, null). */
static void put_printed(struct hp_fingerprinter *fp, LLVMValueRef v)
{
	char *s = LLVMPrintValueToString(v);
	put_cstr(fp, s);
	LLVMDisposeMessage(s);
}

void hp_fp_put_type(struct hp_fingerprinter *fp, LLVMTypeRef t)
{
	LLVMTypeKind kind = LLVMGetTypeKind(t);
	put_tag(fp, 'T');
	put_u64(fp, kind);
	switch (kind) {
	case LLVMIntegerTypeKind:
		put_u64(fp, LLVMGetIntTypeWidth(t));
		break;
	case LLVMPointerTypeKind:
		put_u64(fp, LLVMGetPointerAddressSpace(t));
		break;
	case LLVMArrayTypeKind:
		put_u64(fp, LLVMGetArrayLength2(t));
		hp_fp_put_type(fp, LLVMGetElementType(t));
		break;
	case LLVMVectorTypeKind:
	case LLVMScalableVectorTypeKind:
		put_u64(fp, LLVMGetVectorSize(t));
		hp_fp_put_type(fp, LLVMGetElementType(t));
		break;
	case LLVMStructTypeKind: {
		/* By body, never by name: clang numbers anonymous structs by order of appearance. */
		unsigned n = LLVMCountStructElementTypes(t);
		put_u64(fp, LLVMIsPackedStruct(t) | (uint64_t)LLVMIsOpaqueStruct(t) << 1);
		put_u64(fp, n);
		for (unsigned i = 0; i < n; i++)
			hp_fp_put_type(fp, LLVMStructGetTypeAtIndex(t, i));
		break;
	}
	case LLVMFunctionTypeKind: {
		unsigned n = LLVMCountParamTypes(t);
		LLVMTypeRef params[n ? n : 1];
		put_u64(fp, LLVMIsFunctionVarArg(t));
		hp_fp_put_type(fp, LLVMGetReturnType(t));
		LLVMGetParamTypes(t, params);
		put_u64(fp, n);
		for (unsigned i = 0; i < n; i++)
			hp_fp_put_type(fp, params[i]);
		break;
	}
	case LLVMTargetExtTypeKind: {
		put_cstr(fp, LLVMGetTargetExtTypeName(t));
		for (unsigned i = 0; i < LLVMGetTargetExtTypeNumTypeParams(t); i++)
			hp_fp_put_type(fp, LLVMGetTargetExtTypeTypeParam(t, i));
		for (unsigned i = 0; i < LLVMGetTargetExtTypeNumIntParams(t); i++)
			put_u64(fp, LLVMGetTargetExtTypeIntParam(t, i));
		break;
	}
	default:
		break;
	}
}

/* Debug-info nodes (DILocation and friends) appear only with -g, even inside code-shaping
 * metadata such as llvm.loop: they are skipped as if absent. */
static int is_debug_metadata(LLVMValueRef v)
{
	if (!LLVMIsAMDNode(v))
		return 0;
	LLVMMetadataKind kind = LLVMGetMetadataKind(LLVMValueAsMetadata(v));
	return kind != LLVMMDTupleMetadataKind && kind != LLVMMDStringMetadataKind &&
	       kind != LLVMConstantAsMetadataMetadataKind && kind != LLVMLocalAsMetadataMetadataKind;
}

static uint32_t add_content(struct hp_fingerprinter *fp, XXH128_hash_t h)
{
	if (fp->content_count == fp->content_cap) {
		size_t cap = fp->content_cap ? fp->content_cap * 2 : 64;
		XXH128_hash_t *c = realloc(fp->contents, cap * sizeof *c);
		if (!c)
			abort();
		fp->contents = c;
		fp->content_cap = cap;
	}
	fp->contents[fp->content_count] = h;
	return (uint32_t)fp->content_count++;
}

static void put_metadata_body(struct hp_fingerprinter *fp, LLVMValueRef v, LLVMMetadataKind kind);

/* Metadata by content.  Nodes are uniqued and shared by many instructions (TBAA type trees):
 * each node's hash is computed once. */
void hp_fp_put_metadata(struct hp_fingerprinter *fp, LLVMValueRef v)
{
	LLVMMetadataRef md = LLVMValueAsMetadata(v);
	LLVMMetadataKind kind = LLVMGetMetadataKind(md);
	if (kind != LLVMMDTupleMetadataKind) {
		put_metadata_body(fp, v, kind);
		return;
	}
	uint32_t idx;
	if (hp_ptrmap_get(&fp->content, md, &idx)) {
		if (idx == CONTENT_BUSY)
			put_tag(fp, 'S');  /* a node that contains itself (loop metadata) */
		else
			put(fp, &fp->contents[idx], sizeof fp->contents[idx]);
		return;
	}
	size_t mark = fp->len;
	hp_ptrmap_put(&fp->content, md, CONTENT_BUSY);
	put_metadata_body(fp, v, kind);
	XXH128_hash_t h = hash_since(fp, mark);
	hp_ptrmap_put(&fp->content, md, add_content(fp, h));
	put(fp, &h, sizeof h);
}

static void put_metadata_body(struct hp_fingerprinter *fp, LLVMValueRef v, LLVMMetadataKind kind)
{
	put_tag(fp, 'M');
	put_u64(fp, kind);
	if (kind == LLVMMDStringMetadataKind) {
		unsigned len = 0;
		const char *s = LLVMGetMDString(v, &len);
		put_str(fp, s, len);
	} else if (kind == LLVMMDTupleMetadataKind) {
		unsigned n = LLVMGetMDNodeNumOperands(v);
		LLVMValueRef ops[n ? n : 1];
		LLVMGetMDNodeOperands(v, ops);
		for (unsigned i = 0; i < n; i++) {
			if (!ops[i]) {
				put_tag(fp, '0');
			} else if (is_debug_metadata(ops[i])) {
				continue;
			} else if (LLVMIsAMDNode(ops[i]) || LLVMIsAMDString(ops[i])) {
				hp_fp_put_metadata(fp, ops[i]);
			} else {
				hp_fp_put_value(fp, ops[i]);
			}
		}
		put_tag(fp, 'E');
	} else if (kind == LLVMConstantAsMetadataMetadataKind || kind == LLVMLocalAsMetadataMetadataKind) {
		/* The C API hands these back as their values inside MD tuples; a bare one is rare. */
		put_printed(fp, v);
	}
}

static int is_private_constant(LLVMValueRef g)
{
	/* String literals, switch tables, compound literals: identity is their content. */
	if (!LLVMIsAGlobalVariable(g) || !LLVMIsGlobalConstant(g) || !LLVMGetInitializer(g))
		return 0;
	LLVMLinkage l = LLVMGetLinkage(g);
	return l == LLVMPrivateLinkage ||
	       (l == LLVMInternalLinkage && LLVMGetUnnamedAddress(g) == LLVMGlobalUnnamedAddr);
}

/* The content hash of a private constant, cached: many functions share a table. */
static void put_content(struct hp_fingerprinter *fp, LLVMValueRef g)
{
	uint32_t idx;
	if (hp_ptrmap_get(&fp->content, g, &idx)) {
		if (idx == CONTENT_BUSY) {  /* a constant that points at itself */
			put_tag(fp, 'R');
			return;
		}
		put(fp, &fp->contents[idx], sizeof fp->contents[idx]);
		return;
	}
	/* Hash the content on its own, then put only its hash. */
	size_t mark = fp->len;
	hp_ptrmap_put(&fp->content, g, CONTENT_BUSY);
	hp_fp_put_type(fp, LLVMGlobalGetValueType(g));
	put_u64(fp, LLVMGetAlignment(g));
	put_cstr(fp, LLVMGetSection(g));
	hp_fp_put_constant(fp, LLVMGetInitializer(g));
	XXH128_hash_t h = hash_since(fp, mark);
	hp_ptrmap_put(&fp->content, g, add_content(fp, h));
	put(fp, &h, sizeof h);
}

/* The index of a block within its function, for blockaddress constants. */
static uint64_t block_index(LLVMBasicBlockRef bb)
{
	uint64_t i = 0;
	for (LLVMBasicBlockRef b = LLVMGetPreviousBasicBlock(bb); b; b = LLVMGetPreviousBasicBlock(b))
		i++;
	return i;
}

static void put_global_ref(struct hp_fingerprinter *fp, LLVMValueRef g)
{
	if (is_private_constant(g)) {
		put_tag(fp, 'C');
		put_content(fp, g);
		return;
	}
	size_t len = 0;
	const char *name = LLVMGetValueName2(g, &len);
	put_tag(fp, 'G');
	put_str(fp, name, len);
	/* A named read-only table: readers change when its contents do. */
	if (LLVMIsAGlobalVariable(g) && LLVMIsGlobalConstant(g) && LLVMGetInitializer(g) &&
	    LLVMGetLinkage(g) != LLVMExternalWeakLinkage && LLVMGetLinkage(g) != LLVMWeakAnyLinkage &&
	    LLVMGetLinkage(g) != LLVMLinkOnceAnyLinkage)
		put_content(fp, g);
}

void hp_fp_put_constant(struct hp_fingerprinter *fp, LLVMValueRef c)
{
	LLVMValueKind kind = LLVMGetValueKind(c);
	put_tag(fp, 'K');
	put_u64(fp, kind);
	hp_fp_put_type(fp, LLVMTypeOf(c));
	switch (kind) {
	case LLVMFunctionValueKind:
	case LLVMGlobalVariableValueKind:
	case LLVMGlobalAliasValueKind:
	case LLVMGlobalIFuncValueKind:
		put_global_ref(fp, c);
		break;
	case LLVMConstantIntValueKind:
		if (LLVMGetIntTypeWidth(LLVMTypeOf(c)) <= 64)
			put_constant_value(fp, LLVMConstIntGetZExtValue(c));
		else
			put_printed(fp, c);
		break;
	case LLVMConstantFPValueKind:
		put_printed(fp, c);  /* exact: LLVM prints inexact decimals as hex */
		break;
	case LLVMConstantDataArrayValueKind:
	case LLVMConstantDataVectorValueKind: {
		LLVMTypeRef elem = LLVMGetElementType(LLVMTypeOf(c));
		if (LLVMGetTypeKind(elem) == LLVMIntegerTypeKind && LLVMGetIntTypeWidth(elem) == 8) {
			size_t len = 0;
			const char *bytes = LLVMGetAsString(c, &len);
			put_str(fp, bytes, len);
			break;
		}
		unsigned n = kind == LLVMConstantDataArrayValueKind ?
		                 (unsigned)LLVMGetArrayLength2(LLVMTypeOf(c)) : LLVMGetVectorSize(LLVMTypeOf(c));
		for (unsigned i = 0; i < n; i++)
			hp_fp_put_constant(fp, LLVMGetAggregateElement(c, i));
		break;
	}
	case LLVMConstantArrayValueKind:
	case LLVMConstantStructValueKind:
	case LLVMConstantVectorValueKind: {
		int n = LLVMGetNumOperands(c);
		for (int i = 0; i < n; i++)
			hp_fp_put_constant(fp, LLVMGetOperand(c, (unsigned)i));
		break;
	}
	case LLVMConstantExprValueKind: {
		LLVMOpcode op = LLVMGetConstOpcode(c);
		put_u64(fp, op);
		if (op == LLVMGetElementPtr) {
			hp_fp_put_type(fp, LLVMGetGEPSourceElementType(c));
			put_u64(fp, LLVMIsInBounds(c));
		}
		int n = LLVMGetNumOperands(c);
		for (int i = 0; i < n; i++)
			hp_fp_put_constant(fp, LLVMGetOperand(c, (unsigned)i));
		break;
	}
	case LLVMBlockAddressValueKind: {
		LLVMValueRef fn = LLVMGetOperand(c, 0);
		put_global_ref(fp, fn);
		put_u64(fp, block_index(LLVMValueAsBasicBlock(LLVMGetOperand(c, 1))));
		break;
	}
	case LLVMUndefValueValueKind:
	case LLVMPoisonValueValueKind:
	case LLVMConstantAggregateZeroValueKind:
	case LLVMConstantPointerNullValueKind:
	case LLVMConstantTokenNoneValueKind:
	case LLVMConstantTargetNoneValueKind:
		break;  /* kind and type say it all */
	default:
		put_printed(fp, c);
		break;
	}
}

void hp_fp_put_value(struct hp_fingerprinter *fp, LLVMValueRef v)
{
	uint32_t pos;
	if (hp_ptrmap_get(&fp->local, v, &pos)) {
		put_tag(fp, 'L');
		put_u64(fp, pos);
		return;
	}
	LLVMValueKind kind = LLVMGetValueKind(v);
	switch (kind) {
	case LLVMInlineAsmValueKind: {
		size_t len = 0;
		const char *s = LLVMGetInlineAsmAsmString(v, &len);
		put_tag(fp, 'A');
		put_str(fp, s, len);
		s = LLVMGetInlineAsmConstraintString(v, &len);
		put_str(fp, s, len);
		put_u64(fp, LLVMGetInlineAsmDialect(v) | (uint64_t)LLVMGetInlineAsmHasSideEffects(v) << 2 |
		                (uint64_t)LLVMGetInlineAsmNeedsAlignedStack(v) << 3 |
		                (uint64_t)LLVMGetInlineAsmCanUnwind(v) << 4);
		hp_fp_put_type(fp, LLVMGetInlineAsmFunctionType(v));
		break;
	}
	case LLVMMetadataAsValueValueKind:
		hp_fp_put_metadata(fp, v);
		break;
	case LLVMBasicBlockValueKind:
	case LLVMArgumentValueKind:
	case LLVMInstructionValueKind:
		/* A value of another function: cannot happen in valid IR. */
		put_tag(fp, '?');
		break;
	default:
		hp_fp_put_constant(fp, v);
		break;
	}
}
