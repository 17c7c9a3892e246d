// The test order of `npm run mutate` (jest.mutation.config.js), never of `npm test`.
//
// jest runs the files that failed last time first, then the slowest first (to keep its workers busy). Stryker runs a
// mutant's files in band and, with the bail of mutationEnvironment.js, stops at the first failure, so the cheapest
// order is: the files that failed last time (the file that killed the previous mutant of a module usually kills the
// next one), then the fastest first.
const Sequencer = require("@jest/test-sequencer").default;

class FastFirstSequencer extends Sequencer {
    sort(tests) {
        const cost = (test) => this.time(test) ?? Number.MAX_SAFE_INTEGER;
        return [...tests].sort((a, b) => Number(this.hasFailed(b)) - Number(this.hasFailed(a)) || cost(a) - cost(b) || a.path.localeCompare(b.path));
    }
}

module.exports = FastFirstSequencer;
