#!/usr/bin/env bash
# A market operator's first day, command by command, on a chain of its own: the commands of the
# README's "Using it", in order, with the example files beside this script (docs/examples/).
#
#   . .venv/bin/activate && bash docs/walkthrough.sh [FOLDER] [PORT]
#
# FOLDER (default: a new temporary folder) holds the workspace, the node's state and the event
# index; PORT (default 8545) is the local node's. The node is stopped at the end, its state kept: run
# `ledger node start` in FOLDER to look around afterwards. Each command is printed before it runs;
# the first that fails stops the walk.
set -euo pipefail

examples="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/examples"
work="${1:-$(mktemp -d)}"
port="${2:-8545}"
mkdir -p "$work"
cd "$work"
export LEDGER_HOME="$work/.ledger" LEDGER_DATA="$work/data"
export LEDGER_PASSPHRASE="${LEDGER_PASSPHRASE:-a walkthrough passphrase}"  # opens the keystores it makes
cp "$examples"/* .

step() {
    local shown=() arg
    for arg in "$@"; do [[ "$arg" == *" "* ]] && shown+=("\"$arg\"") || shown+=("$arg"); done
    printf '\n$ ledger %s\n' "${shown[*]}"
    ledger "$@"
}

trap 'ledger node stop --port "$port" >/dev/null 2>&1 || true' EXIT
echo "workspace: $work"

# the chain, the contracts, an operator
step node start --port "$port"
step deploy
step operator add operator
step key list

# the platform's certificate authority, and the members it certifies
step ca init
step ca issue regulator                     # the regulator opens sealed terms as auditor
step ca issue imu --uscc 121500004600012340 --display-name 内蒙古大学
step member enrol imu --kind university --uscc 121500004600012340 --in-region
step ca issue steel --uscc 91150200114123456M --display-name 包头钢铁（集团）有限责任公司
step member enrol steel --kind enterprise --uscc 91150200114123456M --in-region
step ca issue startup --uscc 91150105MA0Q123458 --display-name 草原智造科技有限公司
step member enrol startup --kind enterprise --uscc 91150105MA0Q123458 --in-region
step ca issue dr-wang --display-name 王博士
step member enrol dr-wang --kind individual --in-region
step member list

# an instrument for sharing, three contracts (TC-1 with its terms document), their milestones
step instrument register NMR-1 --provider imu --value 1500000.00
step contract register --file contracts.json
step contract list
step milestone achieve TC-1 0 --date 2026-03-01
step settle --ref BANK-0001 --contract TC-1 --milestone 0 --amount 1500000.00 --date 2026-03-02
step milestone achieve TC-1 1 --date 2026-06-20
step settle --ref BANK-0002 --contract TC-1 --milestone 1 --amount 1000000.00 --date 2026-06-25
step settle --ref BANK-0002 --contract TC-1 --milestone 1 --amount 1000000.00 --date 2026-06-25  # a replay
step contract show TC-1

# a royalty licence: its milestone, a quarter's revenue and the royalty on it
step milestone achieve TC-R --date 2026-06-30
step royalty report TC-R 2026Q2 --revenue 1000000.00 --date 2026-07-01
step settle --ref BANK-0003 --contract TC-R --period 2026Q2 --amount 30000.00 --date 2026-07-02

# a bank's receipts in one file: checked first, then recorded; imported again, nothing changes
step settle import bank.csv --check
step settle import bank.csv
step settle import bank.csv

# attestations, points, a redemption
step attest startup-revenue startup --year 2026 --revenue 250000.00 --date 2026-08-01
step attest appointment dr-wang --title industry_professor --date 2026-08-02
step points balance imu
step redeem imu 100.00 --purpose "instrument booking"
step points history imu

# every point recomputed independently; a statement; the market
step policy show
step verify
step statement imu
step statement startup --format csv
step report

# the contract's confidential terms, sealed for its parties and the regulator
step terms seal tc-1-terms.txt --contract TC-1
step terms open tc-1-terms.txt.sealed.json --as steel --out opened-terms.txt
cmp tc-1-terms.txt opened-terms.txt
step export besu-allowlist --out permissions_config.toml
