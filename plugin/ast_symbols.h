// ast_symbols.h — the symbol a declaration has in the IR, as the front end's collectors name it
// (decl_facts.cpp, record_layouts.cpp): C names as written, C++ names mangled, one name per
// constructor and destructor variant.  The IR pass joins on these names.
#ifndef HP_AST_SYMBOLS_H
#define HP_AST_SYMBOLS_H

#include "clang/AST/ASTContext.h"
#include "clang/AST/Mangle.h"

#include <memory>
#include <string>
#include <vector>

namespace hotpatch {

class SymbolNames {
public:
  explicit SymbolNames(clang::ASTContext &Ctx) : Mangler(Ctx.createMangleContext()) {}

  // Whether C++ gives the declaration a mangled name (static locals are symbols of their own).
  bool isMangled(const clang::NamedDecl *ND) const { return Mangler->shouldMangleDeclName(ND); }

  // The symbol the IR knows a declaration by: C names as written, C++ names mangled.
  std::string symbolOf(const clang::NamedDecl *ND, clang::GlobalDecl GD = clang::GlobalDecl()) {
    if (auto *A = ND->getAttr<clang::AsmLabelAttr>())
      return A->getLabel().str();
    if (!Mangler->shouldMangleDeclName(ND))
      return ND->getName().str();
    std::string S;
    llvm::raw_string_ostream OS(S);
    Mangler->mangleName(GD.getDecl() ? GD : clang::GlobalDecl(ND), OS);
    return S;
  }

  // Constructors and destructors have one symbol per variant; the first is the primary.
  std::vector<std::string> symbolsOf(const clang::FunctionDecl *FD) {
    using namespace clang;
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

private:
  std::unique_ptr<clang::MangleContext> Mangler;
};

} // namespace hotpatch

#endif
