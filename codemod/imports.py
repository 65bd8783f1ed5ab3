"""Imports: the edits that make a file import the packages a fix uses, in gofmt's order."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from codemod.go.parse import ParsedFile
from codemod.go.syntax import text
from codemod.model import Edit


class ImportConflict(Exception):
    """The package is imported under another name, or its name is taken: a fix must not guess."""


@dataclass(frozen=True)
class _Spec:
    path: str
    alias: str | None
    node: Node


def _specs(root: Node) -> list[_Spec]:
    specs = []
    for declaration in root.named_children:
        if declaration.type != "import_declaration":
            continue
        for node in _spec_nodes(declaration):
            path_node = node.child_by_field_name("path")
            name_node = node.child_by_field_name("name")
            if path_node is None:
                continue
            specs.append(
                _Spec(text(path_node).strip('"`'), text(name_node) if name_node else None, node)
            )
    return specs


def _spec_nodes(declaration: Node) -> list[Node]:
    nodes = []
    for child in declaration.named_children:
        if child.type == "import_spec":
            nodes.append(child)
        elif child.type == "import_spec_list":
            nodes.extend(c for c in child.named_children if c.type == "import_spec")
    return nodes


def _is_standard(path: str) -> bool:
    return "." not in path.split("/", 1)[0]


def import_edits(parsed: ParsedFile, paths: tuple[str, ...]) -> list[Edit]:
    """Edits adding each missing import; raises ImportConflict when a path is aliased away."""
    root = parsed.root
    specs = _specs(root)
    missing = []
    for path in sorted(set(paths)):
        existing = [spec for spec in specs if spec.path == path]
        if any(spec.alias is None for spec in existing):
            continue
        if existing:
            raise ImportConflict(f"{path} is imported as {existing[0].alias}")
        missing.append(path)
    if not missing:
        return []
    every_declaration = [c for c in root.named_children if c.type == "import_declaration"]
    # `import "C"` and the cgo preamble comment above it must stay a declaration of their own.
    declarations = [d for d in every_declaration if not _imports_cgo(d)]
    grouped = next(
        (d for d in declarations if any(c.type == "import_spec_list" for c in d.named_children)),
        None,
    )
    if grouped is not None:
        # Paths inserting at one point are merged in sorted order, since edits may not collide.
        merged: dict[tuple[int, int], str] = {}
        for path in missing:
            edit = _insert_into_group(parsed.source, grouped, path)
            merged[(edit.start, edit.end)] = merged.get((edit.start, edit.end), "") + edit.text
        return [Edit(start, end, body) for (start, end), body in merged.items()]
    if declarations:
        # A single `import "x"`: rewrite it as a group holding the old and new paths.
        first = declarations[0]
        only = _spec_nodes(first)
        if len(only) != 1:
            raise ImportConflict("unusual import declaration")
        lines = sorted([text(only[0]), *(f'"{p}"' for p in missing)], key=_spec_sort_key)
        body = "".join(f"\t{line}\n" for line in lines)
        return [Edit(first.start_byte, first.end_byte, f"import (\n{body})")]
    # After `import "C"` when there is one (its own declaration), else after the package clause.
    anchor = every_declaration[-1] if every_declaration else None
    if anchor is None:
        anchor = next(c for c in root.named_children if c.type == "package_clause")
    if len(missing) == 1:
        block = f'\n\nimport "{missing[0]}"'
    else:
        block = "\n\nimport (\n" + "".join(f'\t"{p}"\n' for p in missing) + ")"
    return [Edit(anchor.end_byte, anchor.end_byte, block)]


def _imports_cgo(declaration: Node) -> bool:
    paths = (spec.child_by_field_name("path") for spec in _spec_nodes(declaration))
    return any(path is not None and text(path).strip('"`') == "C" for path in paths)


def _spec_sort_key(spec_text: str) -> str:
    return spec_text.split()[-1].strip('"`')


def _insert_into_group(source: bytes, declaration: Node, path: str) -> Edit:
    """Insert into the run of specs of the same kind (standard or not), sorted as gofmt sorts."""
    spec_list = next(c for c in declaration.named_children if c.type == "import_spec_list")
    specs = [c for c in spec_list.named_children if c.type == "import_spec"]
    runs: list[list[Node]] = []
    for spec in specs:
        if runs and spec.start_point.row - runs[-1][-1].end_point.row <= 1:
            runs[-1].append(spec)
        else:
            runs.append([spec])
    standard = _is_standard(path)

    def path_of(spec: Node) -> str:
        node = spec.child_by_field_name("path")
        return text(node).strip('"`') if node else ""

    matching = [run for run in runs if _is_standard(path_of(run[0])) == standard]
    line = f'"{path}"'
    if not matching:
        if standard and runs:
            # Standard library goes first, in a run of its own.
            first = runs[0][0]
            return Edit(first.start_byte, first.start_byte, f"{line}\n\n\t")
        closing = spec_list.end_byte - 1  # the ')'
        prefix = "\n" if specs else ""
        return Edit(closing, closing, f"{prefix}\t{line}\n")
    run = matching[0]
    for spec in run:
        if path_of(spec) > path:
            return Edit(spec.start_byte, spec.start_byte, f"{line}\n\t")
    last = run[-1]
    end_of_line = source.find(b"\n", last.end_byte)
    end_of_line = len(source) if end_of_line < 0 else end_of_line
    return Edit(end_of_line, end_of_line, f"\n\t{line}")


def unused_import_edits(parsed: ParsedFile, candidates: tuple[str, ...]) -> list[Edit]:
    """Edits removing those candidate imports that nothing in the file refers to any more."""
    specs = [s for s in _specs(parsed.root) if s.path in candidates and s.alias is None]
    if not specs:
        return []
    used = {
        text(qualifier)
        for node in _selector_expressions(parsed.root)
        # `sync.WaitGroup{}` is a selector's operand; `var mu sync.Mutex` a type's package.
        if (qualifier := node.child_by_field_name("operand") or node.child_by_field_name("package"))
        is not None
        and qualifier.type in ("identifier", "package_identifier")
    }
    edits = []
    for spec in specs:
        if spec.path.rsplit("/", 1)[-1] in used:
            continue
        declaration = spec.node.parent
        if declaration is not None and declaration.type == "import_declaration":
            edits.append(_delete_lines(parsed.source, declaration))  # `import "sync"` alone
        else:
            edits.append(_delete_lines(parsed.source, spec.node))
    return edits


def _selector_expressions(root: Node) -> list[Node]:
    found = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in ("selector_expression", "qualified_type"):
            found.append(node)
        stack.extend(node.children)
    return found


def _delete_lines(source: bytes, node: Node) -> Edit:
    start = source.rfind(b"\n", 0, node.start_byte) + 1
    end = source.find(b"\n", node.end_byte)
    return Edit(start, len(source) if end < 0 else end + 1, "")
