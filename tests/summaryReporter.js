// Ends every run with one plain line, "jest: N passed, N failed, N skipped", that CI tools read without
// knowing jest's own summary format.
class SummaryReporter {
    onRunComplete(_contexts, results) {
        const skipped = results.numPendingTests + results.numTodoTests;
        process.stdout.write(`jest: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`);
    }
}

module.exports = SummaryReporter;
