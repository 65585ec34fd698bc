// register.cpp — the plugin's C++ glue: how Clang and LLVM find the plugin, its arguments, the
// code generation options it forces, and the struct layouts only the AST knows.  Everything
// that works on IR is C (pass.c, fingerprint.c); this file stays as thin as Clang allows.

#include "clang/AST/ASTConsumer.h"
#include "clang/AST/ASTContext.h"
#include "clang/AST/Mangle.h"
#include "clang/AST/ODRHash.h"
#include "clang/AST/RecordLayout.h"
#include "clang/AST/RecursiveASTVisitor.h"
#include "clang/Basic/Version.h"
#include "clang/Frontend/CompilerInstance.h"
#include "clang/Frontend/FrontendPluginRegistry.h"
#include "clang/Lex/PPCallbacks.h"
#include "clang/Lex/Preprocessor.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/IR/Module.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Passes/PassPlugin.h"
#include "llvm/Support/FileSystem.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <xxhash.h>

extern "C" {
#include "hp_meta.h"
#include "plugin.h"
}

using namespace clang;

#ifndef HOTPATCH_VERSION
#error "HOTPATCH_VERSION must come from CMake (project version)"
#endif

namespace {

// Set once a -fplugin front end is active in this compiler process, so that the -fpass-plugin
// registration of the same library stands aside instead of running the passes twice.
bool FrontEndActive = false;

// Everything the passes need from the front end, owned for the whole compilation.
struct SourceFacts {
  std::string MainFile, Producer, Options, Root;
  uint32_t TUFlags = 0;
  std::vector<std::string> Exclude;
  std::vector<std::string> TypeNames;
  std::vector<hp_source_type> Types;
  struct Decl {
    bool IsFunction = false, IsLocal = false, IsReferenced = false;
    std::vector<uint32_t> Types;
    uint8_t Layout[16] = {}, Source[16] = {};
    std::vector<std::string> Callees;
    std::vector<const char *> CalleesC;
    std::vector<uint32_t> Lines;  // values its body took from __LINE__ (collectLines)
    uint8_t LinesFP[16] = {};
  };
  std::map<std::string, Decl> Decls;
  llvm::DenseSet<unsigned> LineSites;  // where the builtin __LINE__ was expanded (raw locations)

  // C views of the above, rebuilt by view().
  std::vector<const char *> ExcludeC;
  std::vector<hp_source_decl> DeclsC;
  hp_plugin_options OptionsC{};
  hp_source_info InfoC{};

  void view() {
    ExcludeC.clear();
    for (auto &E : Exclude)
      ExcludeC.push_back(E.c_str());
    OptionsC = {Root.empty() ? nullptr : Root.c_str(), ExcludeC.data(), ExcludeC.size()};
    for (size_t I = 0; I < Types.size(); ++I)
      Types[I].name = TypeNames[I].c_str();
    DeclsC.clear();
    for (auto &[Symbol, D] : Decls) {  // std::map iterates in name order, as required
      D.CalleesC.clear();
      for (const std::string &C : D.Callees)
        D.CalleesC.push_back(C.c_str());
      hp_source_decl C{Symbol.c_str(), D.IsFunction, D.IsLocal,         D.IsReferenced,
                       D.Types.data(),  D.Types.size(), {},              {},
                       D.CalleesC.data(), D.CalleesC.size(), D.Lines.data(), D.Lines.size(), {}};
      memcpy(C.layout, D.Layout, 16);
      memcpy(C.source_fingerprint, D.Source, 16);
      memcpy(C.lines_fingerprint, D.LinesFP, 16);
      DeclsC.push_back(C);
    }
    InfoC = {MainFile.empty() ? nullptr : MainFile.c_str(), Producer.c_str(), Options.c_str(),
             TUFlags, Types.data(), Types.size(), DeclsC.data(), DeclsC.size()};
  }
};

// ---- Source facts: layouts, callees and source fingerprints --------------------------------

// Collects, per function and per variable, the records its source touches and the same-file
// functions it refers to; closes each function's records over those callees, since any of them
// may be inlined into it.  A function's source fingerprint is Clang's ODR hash of its body:
// independent of source locations, so it changes only when the function's own code does.
// A set of records as bits over the unit's records, numbered as first met: the callee closure
// unions these along every call edge, which must stay cheap in units of thousands of functions.
struct RecordSet {
  std::vector<uint64_t> Bits;
  bool insert(unsigned I) {
    if (Bits.size() <= I / 64)
      Bits.resize(I / 64 + 1);
    uint64_t Bit = uint64_t(1) << (I % 64);
    bool Fresh = !(Bits[I / 64] & Bit);
    Bits[I / 64] |= Bit;
    return Fresh;
  }
  bool merge(const RecordSet &O) {  // true when it grew
    if (Bits.size() < O.Bits.size())
      Bits.resize(O.Bits.size());
    bool Grew = false;
    for (size_t W = 0; W < O.Bits.size(); ++W) {
      Grew |= (O.Bits[W] & ~Bits[W]) != 0;
      Bits[W] |= O.Bits[W];
    }
    return Grew;
  }
  bool empty() const {
    for (uint64_t W : Bits)
      if (W)
        return false;
    return true;
  }
  template <typename F> void each(F Fn) const {
    for (size_t W = 0; W < Bits.size(); ++W)
      for (uint64_t B = Bits[W]; B; B &= B - 1)
        Fn(unsigned(W * 64 + __builtin_ctzll(B)));
  }
};

class LayoutCollector : public RecursiveASTVisitor<LayoutCollector> {
public:
  explicit LayoutCollector(ASTContext &Ctx) : Ctx(Ctx), Mangler(Ctx.createMangleContext()) {}

  // C++: a template's instantiations are code like any other; its pattern is not.
  bool shouldVisitTemplateInstantiations() const { return true; }

  bool VisitFunctionDecl(FunctionDecl *FD) {
    if (FD->isDependentContext() || FD->isInvalidDecl()) {
      Current = nullptr;  // a template's pattern, or code Clang rejected: nothing is emitted
      return true;
    }
    if (!FD->doesThisDeclarationHaveABody())
      return true;
    std::vector<std::string> Names = symbolsOf(FD);
    Current = &Decls[Names[0]];
    for (size_t I = 1; I < Names.size(); ++I)
      Aliases[Names[0]].push_back(Names[I]);
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
      Decl &D = Decls[symbolOf(VD)];
      addTypeTo(D, VD->getType());
      return true;
    }
    if (VD->isStaticLocal()) {
      if (Mangler->shouldMangleDeclName(VD))  // C++ names static locals as symbols of their own
        addTypeTo(Decls[symbolOf(VD)], VD->getType());
      else if (auto *FD = dyn_cast_or_null<FunctionDecl>(VD->getParentFunctionOrMethod()))
        addTypeTo(Decls[symbolOf(FD) + "." + VD->getName().str()], VD->getType());
    } else if (VD->hasGlobalStorage()) {
      addTypeTo(Decls[symbolOf(VD)], VD->getType());
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
          Current->Callees.insert(symbolsOf(FD)[0]);
    // C++ calls methods and constructors without a DeclRefExpr.
    const FunctionDecl *Callee = nullptr;
    if (auto *ME = dyn_cast<MemberExpr>(E))
      Callee = dyn_cast<CXXMethodDecl>(ME->getMemberDecl());
    else if (auto *CE = dyn_cast<CXXConstructExpr>(E))
      Callee = CE->getConstructor();
    if (Callee && !Callee->isDependentContext() && !Callee->isInvalidDecl())
      Current->Callees.insert(symbolsOf(Callee)[0]);
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

  void finish(SourceFacts &Out) {
    for (auto &[Symbol, D] : Decls) {
      for (const Type *T : D.Seen)
        addTypeTo(D, QualType(T, 0));
      D.Direct = D.Records;
    }
    addCalleeRecords();

    // The type table is ordered by name and layout, never by pointer: output must not depend
    // on where the allocator put things.
    RecordSet UsedBits;
    for (auto &[Symbol, D] : Decls)
      UsedBits.merge(D.Records);
    std::vector<const RecordDecl *> Used;
    UsedBits.each([&](unsigned I) { Used.push_back(RecordList[I]); });
    struct Entry {
      std::string Name;
      hp_source_type T;
      const RecordDecl *RD;
    };
    std::vector<Entry> Table;
    for (const RecordDecl *RD : Used) {
      Entry E{{}, {}, RD};
      layoutOf(RD, E.Name, E.T);
      Table.push_back(std::move(E));
    }
    std::sort(Table.begin(), Table.end(), [](const Entry &A, const Entry &B) {
      return A.Name != B.Name ? A.Name < B.Name : memcmp(A.T.layout, B.T.layout, 16) < 0;
    });
    std::map<const RecordDecl *, uint32_t> Index;
    for (const Entry &E : Table) {
      Index[E.RD] = (uint32_t)Out.Types.size();
      Out.TypeNames.push_back(E.Name);
      Out.Types.push_back(E.T);
    }
    for (auto &[Symbol, D] : Decls) {
      SourceFacts::Decl &U = Out.Decls[Symbol];
      U.IsFunction = D.IsFunction;
      U.IsLocal = D.IsLocal;
      for (const std::string &C : D.Callees) {
        auto It = Decls.find(C);
        if (It == Decls.end() || !It->second.IsFunction || C == Symbol)
          continue;  // declared only, or itself: not a same-file callee
        U.Callees.push_back(C);
        Out.Decls[C].IsReferenced = true;
      }
      auto Al = Aliases.find(Symbol);
      if (Al != Aliases.end())
        AliasOut.emplace_back(Symbol, Al->second);
      if (D.IsFunction) {
        XXH128_canonical_t C;
        XXH128_canonicalFromHash(&C, XXH3_128bits(&D.ODRHash, sizeof D.ODRHash));
        memcpy(U.Source, C.digest, 16);
      }
      D.Direct.each([&](unsigned I) { U.Types.push_back(Index[RecordList[I]]); });
      std::sort(U.Types.begin(), U.Types.end());
      // The layout fingerprint covers everything it depends on, in table order.
      std::vector<uint32_t> All;
      D.Records.each([&](unsigned I) { All.push_back(Index[RecordList[I]]); });
      std::sort(All.begin(), All.end());
      std::string Text;
      for (uint32_t I : All) {
        Text += Table[I].Name;
        Text.push_back('\0');
        Text.append((const char *)Table[I].T.layout, 16);
      }
      if (!All.empty()) {
        XXH128_canonical_t C;
        XXH128_canonicalFromHash(&C, XXH3_128bits(Text.data(), Text.size()));
        memcpy(U.Layout, C.digest, 16);
      }
    }
    // A C++ constructor or destructor is emitted under several symbols (complete, base): each
    // is the same source.
    for (auto &[Symbol, Names] : AliasOut)
      for (const std::string &A : Names)
        if (!Out.Decls.count(A)) {
          SourceFacts::Decl Copy = Out.Decls[Symbol];
          Copy.IsReferenced = false;
          Out.Decls[A] = std::move(Copy);
        }
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
  std::unique_ptr<MangleContext> Mangler;
  std::map<std::string, Decl> Decls;
  std::map<std::string, std::vector<std::string>> Aliases;  // C++ structors' other symbols
  std::vector<std::pair<std::string, std::vector<std::string>>> AliasOut;
  std::map<const RecordDecl *, unsigned> RecordIndex;  // numbering for RecordSet
  std::vector<const RecordDecl *> RecordList;

  unsigned indexOf(const RecordDecl *RD) {
    auto [It, Fresh] = RecordIndex.emplace(RD, RecordList.size());
    if (Fresh)
      RecordList.push_back(RD);
    return It->second;
  }
  Decl *Current = nullptr;

  // The symbol the IR knows a declaration by: C names as written, C++ names mangled.
  std::string symbolOf(const NamedDecl *ND, GlobalDecl GD = GlobalDecl()) {
    if (auto *A = ND->getAttr<AsmLabelAttr>())
      return A->getLabel().str();
    if (!Mangler->shouldMangleDeclName(ND))
      return ND->getName().str();
    std::string S;
    llvm::raw_string_ostream OS(S);
    Mangler->mangleName(GD.getDecl() ? GD : GlobalDecl(ND), OS);
    return S;
  }
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

  // Constructors and destructors have one symbol per variant; the first is the primary.
  std::vector<std::string> symbolsOf(const FunctionDecl *FD) {
    if (auto *C = dyn_cast<CXXConstructorDecl>(FD))
      return {symbolOf(C, GlobalDecl(C, Ctor_Complete)), symbolOf(C, GlobalDecl(C, Ctor_Base))};
    if (auto *D = dyn_cast<CXXDestructorDecl>(FD)) {
      std::vector<std::string> V{symbolOf(D, GlobalDecl(D, Dtor_Complete)),
                                 symbolOf(D, GlobalDecl(D, Dtor_Base))};
      if (D->isVirtual())
        V.push_back(symbolOf(D, GlobalDecl(D, Dtor_Deleting)));
      return V;
    }
    return {symbolOf(FD)};
  }

  // Called for every expression: only note the distinct types; finish() expands them.
  void addType(QualType T) {
    if (!T.isNull())
      Current->Seen.insert(T.getCanonicalType().getTypePtr());
  }

  // Records reachable from T by value or through pointers and arrays; a record's by-value
  // members count too, since their layout is part of it.
  void addTypeTo(Decl &D, QualType T) {
    for (int Depth = 0; !T.isNull() && Depth < 64; ++Depth) {
      T = T.getCanonicalType();
      if (auto *PT = T->getAs<PointerType>()) {
        T = PT->getPointeeType();
      } else if (auto *AT = dyn_cast<ArrayType>(T.getTypePtr())) {
        T = AT->getElementType();
      } else if (auto *FT = T->getAs<FunctionProtoType>()) {
        for (QualType P : FT->param_types())
          addTypeTo(D, P);
        T = FT->getReturnType();
      } else {
        break;
      }
    }
    const RecordType *RT = T.isNull() ? nullptr : T->getAs<RecordType>();
    if (!RT)
      return;
    const RecordDecl *RD = RT->getDecl()->getDefinition();
    // Only a record Clang can lay out: never a template's pattern, rejected or incomplete.
    if (!RD || RD->isInvalidDecl() || RD->isDependentType() || !RD->isCompleteDefinition() ||
        !D.Records.insert(indexOf(RD)))
      return;
    if (auto *CXX = dyn_cast<CXXRecordDecl>(RD))  // base classes are part of the layout
      for (const CXXBaseSpecifier &B : CXX->bases())
        addTypeTo(D, B.getType());
    for (const FieldDecl *F : RD->fields()) {
      QualType FT = F->getType().getCanonicalType();
      while (auto *AT = dyn_cast<ArrayType>(FT.getTypePtr()))
        FT = AT->getElementType().getCanonicalType();
      if (FT->getAs<RecordType>())
        addTypeTo(D, FT);
    }
  }

  // Adds to each function the records its direct same-file callees' own code uses: any of them
  // may be inlined into it.  One level, matching the call list hpdiff explains with: a callee's
  // callees are that callee's business.  Through the whole closure, a function whose code
  // changed because a callee two calls away now uses one more type got a new layout
  // fingerprint, and hpdiff said "a type it uses changed layout" where no layout had changed.
  void addCalleeRecords() {
    for (auto &[Symbol, D] : Decls)
      if (D.IsFunction)
        for (const std::string &C : D.Callees) {
          auto It = Decls.find(C);
          if (C != Symbol && It != Decls.end() && It->second.IsFunction)
            D.Records.merge(It->second.Direct);
        }
  }

  // A record's identity is its tag and name; its layout is every field's name, type, offset
  // and bit width, plus size and alignment.  An anonymous record is known by its layout.
  // Nothing may depend on source locations: Clang prints an anonymous type as "(unnamed
  // struct at file:line)", so types are printed without locations, and an anonymous record
  // nested by value contributes its own layout instead of its name.
  std::string layoutText(const RecordDecl *RD, int Depth = 0) {
    const ASTRecordLayout &L = Ctx.getASTRecordLayout(RD);
    PrintingPolicy Policy(Ctx.getLangOpts());
    Policy.AnonymousTagLocations = false;
    std::string Text = RD->isUnion() ? "union" : "struct";
    Text += " size=" + std::to_string(L.getSize().getQuantity()) +
            " align=" + std::to_string(L.getAlignment().getQuantity());
    if (auto *CXX = dyn_cast<CXXRecordDecl>(RD)) {  // C++: bases and the vtable pointer
      if (CXX->isDynamicClass())
        Text += L.hasOwnVFPtr() ? " vptr" : " dynamic";
      for (const CXXBaseSpecifier &B : CXX->bases()) {
        const CXXRecordDecl *Base = B.getType()->getAsCXXRecordDecl();
        if (!Base)
          continue;
        CharUnits Off = B.isVirtual() ? L.getVBaseClassOffset(Base) : L.getBaseClassOffset(Base);
        Text += std::string("\n") + (B.isVirtual() ? "virtual " : "") + "base:" +
                B.getType().getCanonicalType().getAsString(Policy) + "@" +
                std::to_string(Off.getQuantity());
      }
    }
    unsigned I = 0;
    for (const FieldDecl *F : RD->fields()) {
      QualType FT = F->getType().getCanonicalType();
      Text += "\n" + F->getName().str() + ":" + FT.getAsString(Policy) + "@" +
              std::to_string(L.getFieldOffset(I++));
      if (F->isBitField())
        Text += ":" + std::to_string(F->getBitWidthValue(Ctx));
      while (auto *AT = dyn_cast<ArrayType>(FT.getTypePtr()))
        FT = AT->getElementType().getCanonicalType();
      if (const RecordType *RT = FT->getAs<RecordType>()) {
        const RecordDecl *Inner = RT->getDecl()->getDefinition();
        if (Inner && Inner->getName().empty() && !Inner->getTypedefNameForAnonDecl() && Depth < 16)
          Text += "{" + layoutText(Inner, Depth + 1) + "}";
      }
    }
    return Text;
  }

  void layoutOf(const RecordDecl *RD, std::string &Name, hp_source_type &T) {
    std::string Text = layoutText(RD);
    XXH128_hash_t H = XXH3_128bits(Text.data(), Text.size());
    XXH128_canonical_t C;
    XXH128_canonicalFromHash(&C, H);
    memcpy(T.layout, C.digest, 16);
    T.size = (uint32_t)Ctx.getASTRecordLayout(RD).getSize().getQuantity();
    std::string Tag = RD->isUnion() ? "union " : "struct ";
    if (!RD->getName().empty() && isa<CXXRecordDecl>(RD) && Ctx.getLangOpts().CPlusPlus) {
      // C++: qualified, with template arguments, so that vector<int> is not vector<char>.
      PrintingPolicy Policy(Ctx.getLangOpts());
      Policy.AnonymousTagLocations = false;
      Policy.SuppressTagKeyword = true;
      Name = Tag + Ctx.getRecordType(RD).getCanonicalType().getAsString(Policy);
    } else if (!RD->getName().empty())
      Name = Tag + RD->getName().str();
    else if (const TypedefNameDecl *TD = RD->getTypedefNameForAnonDecl())
      Name = Tag + TD->getName().str();
    else {
      char Hex[17];
      snprintf(Hex, sizeof Hex, "%016llx", (unsigned long long)H.high64);
      Name = Tag + "<anonymous " + Hex + ">";
    }
    // A record declared inside a function is known by that function too: two functions (or two
    // instantiations of one template) may each declare their own "struct L".
    if (auto *FD = dyn_cast_or_null<FunctionDecl>(RD->getParentFunctionOrMethod()))
      Name += " in " + symbolsOf(FD)[0];
  }
};

// ---- Line numbers: which constants came from __LINE__ ---------------------------------------

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

void collectLines(ASTContext &Ctx, SourceFacts &Facts) {
  LineCollector L(Ctx, Facts);
  L.TraverseDecl(Ctx.getTranslationUnitDecl());
}

class LayoutConsumer : public ASTConsumer {
public:
  explicit LayoutConsumer(std::shared_ptr<SourceFacts> Facts) : Facts(std::move(Facts)) {}
  void HandleTranslationUnit(ASTContext &Ctx) override {
    LayoutCollector C(Ctx);
    C.TraverseDecl(Ctx.getTranslationUnitDecl());
    C.finish(*Facts);
    collectLines(Ctx, *Facts);
    Facts->view();
  }

private:
  std::shared_ptr<SourceFacts> Facts;
};

// ---- The passes ----------------------------------------------------------------------------

struct FinishPass : llvm::PassInfoMixin<FinishPass> {
  std::shared_ptr<SourceFacts> Facts;  // null for IR inputs
  llvm::PreservedAnalyses run(llvm::Module &M, llvm::ModuleAnalysisManager &) {
    static const hp_plugin_options Defaults{};
    char Err[512] = "";
    if (hp_plugin_finish(llvm::wrap(&M), Facts ? &Facts->OptionsC : &Defaults,
                         Facts ? &Facts->InfoC : nullptr, Err, sizeof Err) != 0)
      M.getContext().emitError(llvm::Twine("hotpatch: ") + Err);
    return llvm::PreservedAnalyses::none();
  }
  static bool isRequired() { return true; }
};

void registerPasses(llvm::PassBuilder &PB, std::shared_ptr<SourceFacts> Facts) {
  PB.registerOptimizerLastEPCallback(
      [Facts](llvm::ModulePassManager &MPM, llvm::OptimizationLevel) {
        MPM.addPass(FinishPass{{}, Facts});
      });
}

// ---- The front-end action ------------------------------------------------------------------

class HotpatchAction : public PluginASTAction {
  std::shared_ptr<SourceFacts> Facts = std::make_shared<SourceFacts>();

protected:
  bool ParseArgs(const CompilerInstance &CI, const std::vector<std::string> &Args) override {
    DiagnosticsEngine &D = CI.getDiagnostics();
    for (const std::string &Arg : Args) {
      size_t Eq = Arg.find('=');
      std::string Key = Arg.substr(0, Eq), Value = Eq == std::string::npos ? "" : Arg.substr(Eq + 1);
      if (Key == "version" && Value.empty()) {
        // To stdout, like clang --version; the compilation goes on.
        llvm::outs() << "hotpatch plugin " HOTPATCH_VERSION " (LLVM " LLVM_VERSION_STRING ")\n";
        llvm::outs().flush();
      } else if (Key == "root") {
        // A mistyped root would silently give other source identities than the release had.
        if (Value.empty() || !llvm::sys::fs::is_directory(Value)) {
          D.Report(D.getCustomDiagID(DiagnosticsEngine::Error,
                                     "hotpatch: root='%0': %1"))
              << Value << (Value.empty() ? "no directory given" : "no such directory");
          return false;
        }
        Facts->Root = Value;
      } else if (Key == "exclude") {
        for (size_t I = 0; I <= Value.size();) {
          size_t Comma = std::min(Value.find(',', I), Value.size());
          if (Comma > I)
            Facts->Exclude.push_back(Value.substr(I, Comma - I));
          I = Comma + 1;
        }
      } else {
        D.Report(D.getCustomDiagID(DiagnosticsEngine::Error,
                                   "hotpatch: unknown plugin argument '%0' "
                                   "(known: root=DIR, exclude=NAME[,NAME...], version)"))
            << Arg;
        return false;
      }
    }
    return true;
  }

  std::unique_ptr<ASTConsumer> CreateASTConsumer(CompilerInstance &CI, StringRef) override {
    FrontEndActive = true;
    CodeGenOptions &CG = CI.getCodeGenOpts();
    // One section per function and variable: hpdiff reads each symbol's code and relocations
    // from its own section, and unused code can be dropped without touching its neighbours.
    CG.FunctionSections = true;
    CG.DataSections = true;
    if (CG.PrepareForLTO || CG.PrepareForThinLTO)
      Facts->TUFlags |= HP_META_TU_LTO;

    const FrontendInputFile &In = CI.getFrontendOpts().Inputs.front();
    Facts->MainFile = In.isFile() ? In.getFile().str() : "<stdin>";
    Facts->Producer = getClangFullVersion();
    Facts->Options = describeOptions(CI);
    Facts->view();
    if (In.isFile())
      mapPathsToRoot(CI, Facts->MainFile, Facts->Root);

    CI.getPreprocessor().addPPCallbacks(std::make_unique<LineSiteRecorder>(Facts));
    auto F = Facts;
    CG.PassBuilderCallbacks.push_back([F](llvm::PassBuilder &PB) { registerPasses(PB, F); });
    return std::make_unique<LayoutConsumer>(Facts);
  }

  ActionType getActionType() override { return AddBeforeMainAction; }

private:
  // __FILE__ and __builtin_FILE() name the file as the compiler was given it: an absolute path
  // (CMake passes those) would make two checkouts differ in every function with an assert.  So
  // paths under the project root expand relative to it, as -fmacro-prefix-map=ROOT/= would;
  // the preprocessor has not started yet, so this covers the main file and every header.  A
  // mapping the user gave for the same directory wins.  No root in common ("/"): no mapping.
  static void mapPathsToRoot(CompilerInstance &CI, const std::string &MainFile,
                             const std::string &Root) {
    char *Dir = hp_source_root(MainFile.c_str(), Root.empty() ? nullptr : Root.c_str());
    if (Dir && strcmp(Dir, "/") != 0) {
      CI.getLangOpts().MacroPrefixMap.emplace(std::string(Dir) + "/", "");
      // Out-of-tree builds (automake's VPATH, make -f ../src/Makefile) spell sources relative
      // to the build directory ("../src-1/app.c"): the root as seen from there maps too.
      if (char *Up = hp_path_from_cwd(Dir)) {
        if (*Up)
          CI.getLangOpts().MacroPrefixMap.emplace(std::string(Up) + "/", "");
        free(Up);
      }
    }
    free(Dir);
  }

  // The options that shape machine code without necessarily showing in every function's IR.
  static std::string describeOptions(const CompilerInstance &CI) {
    const CodeGenOptions &CG = CI.getCodeGenOpts();
    const TargetOptions &T = CI.getTargetOpts();
    const LangOptions &L = CI.getLangOpts();
    std::string S = CG.OptimizeSize == 1   ? std::string("Os")
                    : CG.OptimizeSize == 2 ? std::string("Oz")
                                           : "O" + std::to_string(CG.OptimizationLevel);
    S += " pic=" + std::to_string(L.PICLevel) + " pie=" + std::to_string(L.PIE);
    S += " reloc=" + std::to_string((int)CG.RelocationModel);
    S += " cmodel=" + CG.CodeModel;
    S += " frame-pointer=" + std::to_string((int)CG.getFramePointer());
    S += " cpu=" + T.CPU + " tune=" + T.TuneCPU + " abi=" + T.ABI;
    S += " cf-protection=" + std::to_string(CG.CFProtectionBranch) +
         std::to_string(CG.CFProtectionReturn);
    S += " features=";
    for (const std::string &F : T.FeaturesAsWritten)
      S += F + ",";
    return S;
  }
};

} // namespace

static FrontendPluginRegistry::Add<HotpatchAction>
    X("hotpatch", "patchable prologues and fingerprints for live patching");

// -fpass-plugin= entry: IR inputs and -save-temps have no AST action.
extern "C" LLVM_ATTRIBUTE_WEAK ::llvm::PassPluginLibraryInfo llvmGetPassPluginInfo() {
  return {LLVM_PLUGIN_API_VERSION, "hotpatch", HOTPATCH_VERSION, [](llvm::PassBuilder &PB) {
            if (!FrontEndActive)
              registerPasses(PB, nullptr);
          }};
}
