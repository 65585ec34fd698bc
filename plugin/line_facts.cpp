// line_facts.cpp — which constants of a function came from __LINE__: the preprocessor notes
// where the builtin is expanded, then a walk over each function's body collects the values it
// took and fingerprints its source with them masked (docs/hpdiff.md, "Line numbers").
#include "clang/AST/ODRHash.h"
#include "clang/AST/RecursiveASTVisitor.h"
#include "clang/Lex/MacroInfo.h"
#include "clang/Lex/Token.h"
#include "llvm/ADT/DenseMap.h"

#include <cstring>
#include <string>
#include <vector>

#include <xxhash.h>

#include "source_facts.h"

using namespace clang;

namespace hotpatch {
namespace {

// Notes where the builtin __LINE__ is expanded.  The preprocessor reports builtin macros to
// MacroExpands too; the number it produces carries a macro location whose immediate expansion
// begins at the `__LINE__` token noted here.  A user macro that redefines __LINE__ is not
// builtin and is not noted.
class LineSiteRecorder : public PPCallbacks {
public:
  explicit LineSiteRecorder(std::shared_ptr<SourceFacts> Facts) : Facts(std::move(Facts)) {}
  void MacroExpands(const Token &Name, const MacroDefinition &MD, SourceRange,
                    const MacroArgs *) override {
    const MacroInfo *MI = MD.getMacroInfo();
    const IdentifierInfo *II = Name.getIdentifierInfo();
    if (MI && MI->isBuiltinMacro() && II && II->getName() == "__LINE__")
      Facts->LineSites.insert(Name.getLocation().getRawEncoding());
  }

private:
  std::shared_ptr<SourceFacts> Facts;
};

// Per function with a body: the values its own body took from __LINE__ (integer literals that
// are a __LINE__ expansion, and __builtin_LINE()), in AST order, and a fingerprint of its
// source with those values masked.  hpdiff calls a function "only line numbers changed" when
// its machine code differs only where these values (its own and its same-file callees') sit
// and nothing else in its own source changed: the masked fingerprint proves the second part,
// so that a constant of its own that happens to change like a line number is a code change.
class LineCollector : public RecursiveASTVisitor<LineCollector> {
public:
  LineCollector(ASTContext &Ctx, SourceFacts &Facts) : Ctx(Ctx), Facts(Facts) {}

  bool TraverseFunctionDecl(FunctionDecl *FD) {
    if (!FD->doesThisDeclarationHaveABody() || FD->isDependentContext())
      return RecursiveASTVisitor::TraverseFunctionDecl(FD);
    Body Saved = std::move(Current);
    bool Outer = InFunction;
    Current = Body{};
    InFunction = true;
    bool R = RecursiveASTVisitor::TraverseFunctionDecl(FD);
    finishFunction(FD);
    Current = std::move(Saved);
    InFunction = Outer;
    return R;
  }
  bool VisitIntegerLiteral(IntegerLiteral *IL) {
    if (InFunction && isLineExpansion(IL->getLocation())) {
      Current.Lines.push_back(uint32_t(IL->getValue().getZExtValue()));
      Current.Literals.push_back(IL);
    }
    return true;
  }
  bool VisitSourceLocExpr(SourceLocExpr *E) {
    if (InFunction && E->getIdentKind() == SourceLocIdentKind::Line) {
      APValue V = E->EvaluateInContext(Ctx, nullptr);
      if (V.isInt())
        Current.Lines.push_back(uint32_t(V.getInt().getZExtValue()));
    }
    return true;
  }
  // Values the optimizer may fold into the code although the body names them only: enum
  // constants and the initializers of variables with static storage.
  bool VisitDeclRefExpr(DeclRefExpr *E) {
    if (!InFunction)
      return true;
    if (auto *EC = dyn_cast<EnumConstantDecl>(E->getDecl())) {
      Current.Extra.push_back('E');
      addInt(EC->getInitVal());
    } else if (auto *VD = dyn_cast<VarDecl>(E->getDecl())) {
      const Expr *Init = VD->hasGlobalStorage() ? VD->getAnyInitializer() : nullptr;
      if (Init && !Init->isValueDependent()) {
        auto [It, Fresh] = InitHashes.try_emplace(VD, 0);  // large tables are read often
        if (Fresh) {
          ODRHash H;
          H.AddStmt(Init);
          It->second = H.CalculateHash();
        }
        Current.Extra.push_back('V');
        Current.Extra.append((const char *)&It->second, sizeof It->second);
      }
    }
    return true;
  }

private:
  struct Body {
    std::vector<uint32_t> Lines;
    std::vector<IntegerLiteral *> Literals;
    std::string Extra;
  };
  ASTContext &Ctx;
  SourceFacts &Facts;
  Body Current;
  bool InFunction = false;
  llvm::DenseMap<const VarDecl *, unsigned> InitHashes;

  void addInt(const llvm::APSInt &V) {
    uint64_t Bits = V.getExtValue();
    Current.Extra.append((const char *)&Bits, sizeof Bits);
  }

  // The literal came from a __LINE__ expansion: through macro-argument substitutions back to
  // the token that produced it, whose expansion began at a noted __LINE__.
  bool isLineExpansion(SourceLocation L) {
    const SourceManager &SM = Ctx.getSourceManager();
    for (int Depth = 0; L.isMacroID() && Depth < 64; ++Depth) {
      if (SM.isMacroArgExpansion(L)) {
        L = SM.getImmediateSpellingLoc(L);
        continue;
      }
      return Facts.LineSites.contains(SM.getImmediateExpansionRange(L).getBegin().getRawEncoding());
    }
    return false;
  }

  void finishFunction(FunctionDecl *FD) {
    std::string Symbol;
    if (auto *A = FD->getAttr<AsmLabelAttr>())
      Symbol = A->getLabel().str();
    else
      Symbol = FD->getName().str();
    auto It = Facts.Decls.find(Symbol);
    if (It == Facts.Decls.end() || !It->second.IsFunction)
      return;
    // Clang's ODR hash of the body with every line literal set to 0.  The literals are restored
    // at once: nothing else reads the AST in between, and the hash is computed afresh (not the
    // value FunctionDecl caches).
    unsigned Masked;
    if (Current.Literals.empty()) {
      Masked = FD->getODRHash();
    } else {
      std::vector<llvm::APInt> Saved;
      for (IntegerLiteral *IL : Current.Literals) {
        Saved.push_back(IL->getValue());
        IL->setValue(Ctx, llvm::APInt(Saved.back().getBitWidth(), 0));
      }
      ODRHash H;
      H.AddFunctionDecl(FD);
      Masked = H.CalculateHash();
      for (size_t I = 0; I < Saved.size(); ++I)
        Current.Literals[I]->setValue(Ctx, Saved[I]);
    }
    std::string Text = "lines";
    Text.append((const char *)&Masked, sizeof Masked);
    Text += Current.Extra;
    XXH128_canonical_t C;
    XXH128_canonicalFromHash(&C, XXH3_128bits(Text.data(), Text.size()));
    memcpy(It->second.LinesFP, C.digest, 16);
    It->second.Lines = std::move(Current.Lines);
  }
};

} // namespace

std::unique_ptr<PPCallbacks> recordLineSites(std::shared_ptr<SourceFacts> Facts) {
  return std::make_unique<LineSiteRecorder>(std::move(Facts));
}

void collectLines(ASTContext &Ctx, SourceFacts &Facts) {
  LineCollector L(Ctx, Facts);
  L.TraverseDecl(Ctx.getTranslationUnitDecl());
}

} // namespace hotpatch
