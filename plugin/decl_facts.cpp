// decl_facts.cpp — one walk over the unit's functions and variables gathers, per declaration,
// three facts the IR no longer shows, each finished by its own step below:
//   - the records its source touches (finishLayouts, with record_layouts.cpp): its types and
//     layout fingerprint, its same-file callees' records included, since any of them may be
//     inlined into it;
//   - the same-file functions it refers to (finishCalls): the record's call list, and the
//     functions that must keep a record when optimization folds them away;
//   - its source fingerprint (finishSourceFingerprints): Clang's ODR hash of its body,
//     independent of source locations, so it changes only when the function's own code does.
// One walk rather than three: every expression is met once, in units of thousands of functions.
#include "clang/AST/ODRHash.h"
#include "clang/AST/RecursiveASTVisitor.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <xxhash.h>

#include "ast_symbols.h"
#include "record_layouts.h"
#include "source_facts.h"

using namespace clang;

namespace hotpatch {
namespace {

class DeclWalk : public RecursiveASTVisitor<DeclWalk> {
public:
  explicit DeclWalk(ASTContext &Ctx) : Ctx(Ctx), Names(Ctx), Layouts(Ctx, Names) {}

  // C++: a template's instantiations are code like any other; its pattern is not.
  bool shouldVisitTemplateInstantiations() const { return true; }

  bool VisitFunctionDecl(FunctionDecl *FD) {
    if (FD->isDependentContext() || FD->isInvalidDecl()) {
      Current = nullptr;  // a template's pattern, or code Clang rejected: nothing is emitted
      return true;
    }
    if (!FD->doesThisDeclarationHaveABody())
      return true;
    std::vector<std::string> Symbols = Names.symbolsOf(FD);
    Current = &Decls[Symbols[0]];
    for (size_t I = 1; I < Symbols.size(); ++I)
      Aliases[Symbols[0]].push_back(Symbols[I]);
    Current->IsFunction = true;
    Current->IsLocal = !FD->isExternallyVisible();
    Current->ODRHash = sourceHash(FD);
    addType(FD->getReturnType());
    for (ParmVarDecl *P : FD->parameters())
      addType(P->getType());
    return true;
  }
  bool VisitVarDecl(VarDecl *VD) {
    if (isa<ParmVarDecl>(VD) || VD->isInvalidDecl() || VD->getType()->isDependentType() ||
        VD->getDeclContext()->isDependentContext())
      return true;
    if (VD->hasGlobalStorage() && !VD->isStaticLocal() && VD->hasInit()) {
      // A file-scope variable: a record of its own (its initializer may reference functions).
      Decl &D = Decls[Names.symbolOf(VD)];
      Layouts.addType(D.Records, VD->getType());
      return true;
    }
    if (VD->isStaticLocal()) {
      if (Names.isMangled(VD))  // C++ names static locals as symbols of their own
        Layouts.addType(Decls[Names.symbolOf(VD)].Records, VD->getType());
      else if (auto *FD = dyn_cast_or_null<FunctionDecl>(VD->getParentFunctionOrMethod()))
        Layouts.addType(Decls[Names.symbolOf(FD) + "." + VD->getName().str()].Records,
                        VD->getType());
    } else if (VD->hasGlobalStorage()) {
      Layouts.addType(Decls[Names.symbolOf(VD)].Records, VD->getType());
    }
    if (Current)
      addType(VD->getType());
    return true;
  }
  bool VisitExpr(Expr *E) {
    if (!Current)
      return true;
    addType(E->getType());
    if (auto *DRE = dyn_cast<DeclRefExpr>(E))
      if (auto *FD = dyn_cast<FunctionDecl>(DRE->getDecl()))
        if (!FD->isDependentContext() && !FD->isInvalidDecl())
          Current->Callees.insert(Names.symbolsOf(FD)[0]);
    // C++ calls methods and constructors without a DeclRefExpr.
    const FunctionDecl *Callee = nullptr;
    if (auto *ME = dyn_cast<MemberExpr>(E))
      Callee = dyn_cast<CXXMethodDecl>(ME->getMemberDecl());
    else if (auto *CE = dyn_cast<CXXConstructExpr>(E))
      Callee = CE->getConstructor();
    if (Callee && !Callee->isDependentContext() && !Callee->isInvalidDecl())
      Current->Callees.insert(Names.symbolsOf(Callee)[0]);
    return true;
  }
  bool VisitUnaryExprOrTypeTraitExpr(UnaryExprOrTypeTraitExpr *E) {
    if (Current && E->isArgumentType())
      addType(E->getArgumentType());
    return true;
  }
  bool VisitOffsetOfExpr(OffsetOfExpr *E) {
    if (Current)
      addType(E->getTypeSourceInfo()->getType());
    return true;
  }
  // Keep Current pointing at the function whose body is being walked (C++ methods, local
  // classes and template instantiations nest declarations inside one another).
  bool TraverseDecl(clang::Decl *D) {
    Decl *Saved = Current;
    bool R = RecursiveASTVisitor::TraverseDecl(D);
    Current = Saved;
    return R;
  }

  // After the walk: each step fills its own fields of Out.Decls (and Out.Types).
  void finish(SourceFacts &Out) {
    for (auto &[Symbol, D] : Decls) {
      SourceFacts::Decl &U = Out.Decls[Symbol];
      U.IsFunction = D.IsFunction;
      U.IsLocal = D.IsLocal;
    }
    finishLayouts(Out);
    finishCalls(Out);
    finishSourceFingerprints(Out);
    copyToVariants(Out);
  }

private:
  struct Decl {
    bool IsFunction = false, IsLocal = false;
    unsigned ODRHash = 0;
    llvm::SmallPtrSet<const Type *, 16> Seen;  // canonical types met in the body
    RecordSet Direct;                          // records its own code uses
    RecordSet Records;                         // ... and those of same-file callees
    std::set<std::string> Callees;
  };
  ASTContext &Ctx;
  SymbolNames Names;
  RecordLayouts Layouts;
  std::map<std::string, Decl> Decls;
  std::map<std::string, std::vector<std::string>> Aliases;  // C++ structors' other symbols
  Decl *Current = nullptr;

  // Clang's ODR hash skips template specializations and everything inside them (it gives them
  // all one value), so a C++ function's source hash is its type and body, hashed the same way.
  unsigned sourceHash(FunctionDecl *FD) {
    if (!Ctx.getLangOpts().CPlusPlus)
      return FD->getODRHash();
    ODRHash H;
    H.AddQualType(FD->getType());
    if (Stmt *Body = FD->getBody()) {
      H.AddStmt(Body);
      // The ODR hash stops at a lambda; its body is this function's code all the same.
      struct Lambdas : RecursiveASTVisitor<Lambdas> {
        ODRHash &H;
        explicit Lambdas(ODRHash &H) : H(H) {}
        bool VisitLambdaExpr(LambdaExpr *L) {
          H.AddStmt(L->getBody());
          return true;
        }
      } Walk(H);
      Walk.TraverseStmt(Body);
    }
    return H.CalculateHash();
  }

  // Called for every expression: only note the distinct types; finishLayouts() expands them.
  void addType(QualType T) {
    if (!T.isNull())
      Current->Seen.insert(T.getCanonicalType().getTypePtr());
  }

  // A callee in the sense of the call list: a same-file function other than the caller.
  const Decl *sameFileCallee(const std::string &Caller, const std::string &C) const {
    auto It = Decls.find(C);
    return It != Decls.end() && It->second.IsFunction && C != Caller ? &It->second : nullptr;
  }

  // Records: each declaration's types (those its own code uses) and its layout fingerprint,
  // which also covers the records of its direct same-file callees, any of which may be inlined
  // into it.  One level, matching the call list hpdiff explains with: a callee's callees are
  // that callee's business.  Through the whole closure, a function whose code changed because a
  // callee two calls away now uses one more type got a new layout fingerprint, and hpdiff said
  // "a type it uses changed layout" where no layout had changed.
  void finishLayouts(SourceFacts &Out) {
    for (auto &[Symbol, D] : Decls) {
      for (const Type *T : D.Seen)
        Layouts.addType(D.Records, QualType(T, 0));
      D.Direct = D.Records;
    }
    for (auto &[Symbol, D] : Decls)
      if (D.IsFunction)
        for (const std::string &C : D.Callees)
          if (const Decl *Callee = sameFileCallee(Symbol, C))
            D.Records.merge(Callee->Direct);

    RecordSet Used;
    for (auto &[Symbol, D] : Decls)
      Used.merge(D.Records);
    std::vector<uint32_t> Index = Layouts.table(Used, Out);
    for (auto &[Symbol, D] : Decls) {
      SourceFacts::Decl &U = Out.Decls[Symbol];
      D.Direct.each([&](unsigned I) { U.Types.push_back(Index[I]); });
      std::sort(U.Types.begin(), U.Types.end());
      Layouts.fingerprint(D.Records, Index, Out, U.Layout);
    }
  }

  // Calls: each declaration's same-file callees, and which functions some declaration refers
  // to (those may need a record of their own once inlined away).
  void finishCalls(SourceFacts &Out) {
    for (auto &[Symbol, D] : Decls) {
      SourceFacts::Decl &U = Out.Decls[Symbol];
      for (const std::string &C : D.Callees) {
        if (!sameFileCallee(Symbol, C))
          continue;  // declared only, or itself: not a same-file callee
        U.Callees.push_back(C);
        Out.Decls[C].IsReferenced = true;
      }
    }
  }

  // Source fingerprints: the function's ODR hash as XXH3-128, the width of every fingerprint.
  void finishSourceFingerprints(SourceFacts &Out) {
    for (auto &[Symbol, D] : Decls)
      if (D.IsFunction) {
        XXH128_canonical_t C;
        XXH128_canonicalFromHash(&C, XXH3_128bits(&D.ODRHash, sizeof D.ODRHash));
        memcpy(Out.Decls[Symbol].Source, C.digest, 16);
      }
  }

  // A C++ constructor or destructor is emitted under several symbols (complete, base): each
  // is the same source.
  void copyToVariants(SourceFacts &Out) {
    for (auto &[Symbol, D] : Decls) {
      auto Al = Aliases.find(Symbol);
      if (Al == Aliases.end())
        continue;
      for (const std::string &A : Al->second)
        if (!Out.Decls.count(A)) {
          SourceFacts::Decl Copy = Out.Decls[Symbol];
          Copy.IsReferenced = false;
          Out.Decls[A] = std::move(Copy);
        }
    }
  }
};

} // namespace

void collectDeclFacts(ASTContext &Ctx, SourceFacts &Facts) {
  DeclWalk W(Ctx);
  W.TraverseDecl(Ctx.getTranslationUnitDecl());
  W.finish(Facts);
}

} // namespace hotpatch
