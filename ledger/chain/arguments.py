"""Contract calls whose wrong arguments are refused in a sentence. web3 checks the arguments when a
call is built, before any session method could word its refusal; a text where an address belongs is
refused before web3 would take it for an ENS name and try to look it up (the ledger's chains have no ENS).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, cast

from eth_utils.address import is_address
from web3.contract.contract import ContractFunction, ContractFunctions
from web3.exceptions import MismatchedABI, Web3TypeError, Web3ValidationError

from ledger.errors import InputError


class CheckedFunctions:
    """A contract's functions whose wrong arguments become `InputError`s. web3 checks the arguments
    when a call is built (`functions.achieveMilestone(id, -1, at)`), before any session method
    could turn its refusal into a sentence."""

    def __init__(self, functions: ContractFunctions) -> None:
        self._functions = functions
        # each function's parameter lists (one per overload), read from the ABI once
        self._inputs: dict[str, list[list[Any]]] = defaultdict(list)
        for entry in cast(list[dict[str, Any]], functions.abi):
            if entry.get("type") == "function":
                self._inputs[entry["name"]].append(entry.get("inputs", []))

    def __getattr__(self, name: str) -> Any:
        build = getattr(self._functions, name)
        if name.startswith("_") or not callable(build):
            return build  # not a contract function (the ABI list, web3's own attributes)

        def checked(*args: Any, **kwargs: Any) -> ContractFunction:
            problem = self._address_problem(name, args)
            if problem is not None:
                raise InputError(f"invalid argument for {name}: {problem}")
            try:
                return cast(ContractFunction, build(*args, **kwargs))
            except (MismatchedABI, Web3ValidationError, Web3TypeError) as exc:
                raise InputError(f"invalid argument for {name}: {argument_problem(exc)}") from None

        return checked

    def _address_problem(self, name: str, args: tuple[Any, ...]) -> str | None:
        """A text where an address belongs that is not one. web3 would take it for an ENS name and
        try to look it up (the ledger's chains have no ENS), so it is refused first."""
        for inputs in self._inputs.get(name, []):
            if len(inputs) == len(args):
                for i, (param, value) in enumerate(zip(inputs, args, strict=True), start=1):
                    problem = _non_address(param, value, f"argument {i}")
                    if problem is not None:
                        return problem
        return None


def _non_address(param: Any, value: Any, where: str) -> str | None:
    """Where `value`, for the ABI parameter `param`, holds a text that is not an address."""
    kind: str = param["type"]
    if kind.endswith("]") and isinstance(value, list | tuple):
        element = {**param, "type": kind[: kind.rindex("[")]}
        for i, item in enumerate(value):
            problem = _non_address(element, item, f"{where}[{i}]")
            if problem is not None:
                return problem
    elif kind == "tuple" and isinstance(value, list | tuple | dict):
        for i, component in enumerate(param["components"]):
            item = value.get(component["name"]) if isinstance(value, dict) else value[i] if i < len(value) else None
            problem = _non_address(component, item, f"{where}.{component['name'] or i}")
            if problem is not None:
                return problem
    elif kind == "address" and isinstance(value, str) and not is_address(value):
        return f"{where} value {value!r} is not an address"
    return None


def argument_problem(exc: BaseException) -> str:
    """The line of web3's report that names the argument it refused ("argument 2 value -1 is not
    compatible with type uint256"), else its first line."""
    for line in str(exc).splitlines():
        found = re.search(r"Argument (\d+) value `(.*)` is not compatible with type `(.*)`", line)
        if found:
            number, value, kind = found.groups()
            value = value if len(value) <= 40 else value[:37] + "..."
            return f"argument {number} value {value} is not compatible with type {kind}"
    return first_line(exc)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, else its class name."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
