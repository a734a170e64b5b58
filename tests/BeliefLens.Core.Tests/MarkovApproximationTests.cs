namespace BeliefLens.Core.Tests;

public sealed class MarkovApproximationTests
{
    [Theory]
    [InlineData("mess3", 27)]
    [InlineData("tom_quantum", 64)]
    [InlineData("fanizza", 8)]
    public void OrderThreeStateCountsMatchThePaper(string name, int states)
    {
        var markov = MarkovApproximation.Create(BuiltinProcesses.Create(name), 3);
        Assert.Equal(states, markov.StateCount);
        Assert.Equal(ProcessKind.Hmm, markov.Kind);
    }

    [Fact]
    public void MoonOrderThreeLacksTheWordsWithTwoResets()
    {
        // The issue expects 27 states for the Moon. BeliefLens's post_quantum has T0 = m0 μ0ᵀ with μ0·m0 = 0, so the
        // word "00" has probability exactly 0 and the 5 length-3 words containing it are not states: 27 − 5 = 22.
        var process = BuiltinProcesses.Create("post_quantum");
        var markov = MarkovApproximation.Create(process, 3);
        var words = from a in process.TokenNames from b in process.TokenNames from c in process.TokenNames select a + b + c;
        var expected = words.Where(w => !w.Contains("00", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(22, expected.Length);
        Assert.Equal(expected, markov.StateNames.Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void PaperParametersAreTheDefaults()
    {
        Assert.Equal(BuiltinProcesses.TomQuantum(1, Math.Sqrt(51)).Transitions, BuiltinProcesses.Create("tom_quantum").Transitions);
        Assert.Equal(BuiltinProcesses.Fanizza(2000, 0.49).Transitions, BuiltinProcesses.Create("fanizza").Transitions);
        Assert.Equal(BuiltinProcesses.PostQuantum(Math.E, 0.5).Transitions, BuiltinProcesses.Create("post_quantum").Transitions);
        Assert.Equal(BuiltinProcesses.Mess3(0.05, 0.85).Transitions, BuiltinProcesses.Create("mess3").Transitions);
    }

    [Fact]
    public void NextTokenProbabilitiesAreTheProcessConditionalsOnTheLastWord()
    {
        var process = BuiltinProcesses.Create("tom_quantum");
        var markov = MarkovApproximation.Create(process, 3);
        var tree = BeliefTree.Enumerate(process, 4);
        var next = new double[markov.StateCount];
        for (int node = tree.DepthStart[3]; node < tree.DepthStart[4]; node++)
        {
            // The Markov belief after a length-3 word w, and P(x | w) = P(wx)/P(w) from the exact tree.
            var belief = markov.InitialBelief.ToArray();
            foreach (int x in tree.Prefix(node))
            {
                Assert.True(BeliefMath.Update(markov, belief, x, next) > 0);
                next.CopyTo(belief, 0);
            }

            var predicted = BeliefMath.NextTokenDistribution(markov, belief);
            var exact = BeliefMath.NextTokenDistribution(process, tree.Belief(node));
            for (int x = 0; x < process.VocabSize; x++)
            {
                Assert.Equal(exact[x], predicted[x], 9);
            }
        }
    }

    [Fact]
    public void AnOrderOneChainIsItsOwnOrderOneApproximation()
    {
        // The golden mean process is a Markov chain on the last token: its approximation is exact at every length.
        var process = BuiltinProcesses.Create("golden_mean");
        var markov = MarkovApproximation.Create(process, 1);
        Assert.Equal(2, markov.StateCount);
        Assert.Equal(BeliefTree.Enumerate(process, 6).BlockEntropies(), BeliefTree.Enumerate(markov, 6).BlockEntropies(), new ToleranceComparer(1e-12));
    }

    [Fact]
    public void OrderZeroIsAnInputError()
    {
        var error = Assert.Throws<BeliefLensInputException>(() => MarkovApproximation.Create(BuiltinProcesses.Create("mess3"), 0));
        Assert.StartsWith("markov_order:", error.Message);
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
