using BeliefLens.Core;

namespace BeliefLens.Core.Tests;

public sealed class CompositeProcessTests
{
    private static double Entropy2(double p) => -((p * Math.Log(p)) + ((1 - p) * Math.Log(1 - p)));

    [Fact]
    public void IndependentProductJointEqualsProductOfMarginals()
    {
        // An HMM factor and a GHMM factor: every joint prefix's probability is the product of the factors' prefix probabilities.
        var mess3 = BuiltinProcesses.Mess3(0.15, 0.6);
        var tom = BuiltinProcesses.TomQuantum(1, 3);
        var product = ProcessBuilders.Product([new ProductFactor(mess3), new ProductFactor(tom)]);
        Assert.Equal(12, product.VocabSize);
        Assert.Equal(9, product.StateCount);
        Assert.Equal(ProcessKind.Ghmm, product.Kind);
        const int depth = 3;
        var joint = BeliefTree.Enumerate(product, depth);
        var a = BeliefTree.Enumerate(mess3, depth);
        var b = BeliefTree.Enumerate(tom, depth);
        var probA = Probabilities(a);
        var probB = Probabilities(b);
        int checkedCount = 0;
        for (int k = 0; k < joint.Count; k++)
        {
            int[] prefix = joint.Prefix(k);
            var tokensA = prefix.Select(x => product.Composite!.FactorTokens(x)[0]).ToArray();
            var tokensB = prefix.Select(x => product.Composite!.FactorTokens(x)[1]).ToArray();
            double expected = probA[string.Join(",", tokensA)] * probB[string.Join(",", tokensB)];
            Assert.True(Math.Abs(Math.Exp(joint.LogProbability[k]) - expected) < 1e-12, $"prefix {string.Join(",", prefix)}");
            checkedCount++;
        }

        Assert.Equal(1 + 12 + 144 + 1728, checkedCount);

        // The factor marginals of a joint belief are the factors' own beliefs.
        int last = joint.Count - 1;
        int[] path = joint.Prefix(last);
        var beliefA = mess3.InitialBelief.ToArray();
        var beliefB = tom.InitialBelief.ToArray();
        foreach (int x in path)
        {
            var next = new double[3];
            BeliefMath.Update(mess3, beliefA, product.Composite!.FactorTokens(x)[0], next);
            beliefA = next;
            next = new double[3];
            BeliefMath.Update(tom, beliefB, product.Composite!.FactorTokens(x)[1], next);
            beliefB = next;
        }

        var marginalA = product.Composite!.PartBelief(joint.Belief(last), product.Tau, 0);
        var marginalB = product.Composite!.PartBelief(joint.Belief(last), product.Tau, 1);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(beliefA[i], marginalA[i], 12);
            Assert.Equal(beliefB[i], marginalB[i], 12);
        }
    }

    private static Dictionary<string, double> Probabilities(BeliefTree tree)
    {
        var result = new Dictionary<string, double>();
        for (int k = 0; k < tree.Count; k++)
        {
            result[string.Join(",", tree.Prefix(k))] = Math.Exp(tree.LogProbability[k]);
        }

        return result;
    }

    [Fact]
    public void MrNameEntropyRate()
    {
        var msp = MixedStatePresentation.Build(BuiltinProcesses.MrName(0.4, 0.25), 20);
        Assert.Equal(0.8359, msp.ExactEntropyRate!.Value, 4);
    }

    [Theory]
    [InlineData(2, 0.63651)]
    [InlineData(3, 0.60594)]
    [InlineData(5, 0.57346)]
    [InlineData(10, 0.54184)]
    public void CoinFloorsAreTheComponentsAverageEntropyRate(int n, double expected)
    {
        var coins = BuiltinProcesses.Coins(n);
        double floor = LossFloor.Asymptotic(coins);
        Assert.True(Math.Abs(floor - expected) < 1e-5, $"floor {floor}");

        // Independent of the MSP: the average binary entropy of p_i = (i+1)/(n+1).
        double direct = Enumerable.Range(0, n).Average(i => Entropy2((i + 1.0) / (n + 1)));
        Assert.Equal(direct, floor, 12);
    }

    [Theory]
    [InlineData(2, 0.05663, 0.02431, 0.00006)]
    [InlineData(10, 0.15130, 0.03804, 0.00445)]
    public void CoinExcessOverTheFloor(int n, double at1, double at10, double at100)
    {
        var coins = BuiltinProcesses.Coins(n);
        var msp = MixedStatePresentation.Build(coins, 100);
        double floor = LossFloor.Asymptotic(coins);
        Assert.True(Math.Abs(msp.MyopicEntropies[0] - floor - at1) < 1e-5);
        Assert.True(Math.Abs(msp.MyopicEntropies[9] - floor - at10) < 1e-5);
        Assert.True(Math.Abs(msp.MyopicEntropies[99] - floor - at100) < 1e-5);

        // Merged beliefs stay few: at most ℓ+1 distinct beliefs (the count of zeros) at depth ℓ.
        Assert.True(msp.FirstDepth.Count(d => d == 100) <= 101);
    }

    [Fact]
    public void DursleyWonkaSharesAllButTheNameAndStartsWithBos()
    {
        var process = BuiltinProcesses.DursleyWonka();
        Assert.Equal(6, process.VocabSize);
        Assert.Equal(9, process.StateCount);
        Assert.Equal(5, process.Composite!.BosToken);
        Assert.Equal(["Mr.", "Something", "Blah", "name#3", "name#4", "BOS"], process.TokenNames);

        // After BOS and "Mr." the name is a fair coin between the two components; after it, the component is known.
        var belief = process.InitialBelief.ToArray();
        foreach (int token in new[] { 5, 1, 0 })
        {
            var next = new double[process.StateCount];
            Assert.True(BeliefMath.Update(process, belief, token, next) > 0);
            belief = next;
        }

        Assert.Equal([0.5, 0.5], process.Composite.MetaBelief(belief, process.Tau).Select(m => Math.Round(m, 12)));
        var p = BeliefMath.NextTokenDistribution(process, belief);
        Assert.Equal(0.5, p[3], 12);
        Assert.Equal(0.5, p[4], 12);
        var after = new double[process.StateCount];
        BeliefMath.Update(process, belief, 4, after);
        Assert.Equal([0.0, 1.0], process.Composite.MetaBelief(after, process.Tau));
        Assert.Equal([0.0, 0, 0, 1], process.Composite.PartBelief(after, process.Tau, 1));
    }

    [Fact]
    public void MixtureSpecMatchesTheBuiltin()
    {
        const string json = """
            {"name": "dw", "type": "mixture", "bos": true, "components": [
              {"process": "mr_name", "params": {"p": 0.4, "q": 0.25}, "weight": 0.5, "vocab_map": [0, 1, 2, 3]},
              {"process": "mr_name", "weight": 0.5, "vocab_map": [0, 1, 2, 4]}]}
            """;
        var parsed = ProcessSpec.Parse(json);
        var builtin = BuiltinProcesses.DursleyWonka();
        Assert.Equal("dw", parsed.Name);
        Assert.Equal(builtin.Transitions, parsed.Transitions);
        Assert.Equal(builtin.InitialBelief, parsed.InitialBelief);
        Assert.Equal(CompositeKind.Mixture, parsed.Composite!.Kind);
    }

    [Fact]
    public void ProductSpecWithInlineFactorsAndNoise()
    {
        const string json = """
            {"type": "product", "noise": 0.1, "factors": [
              {"process": "mess3", "params": {"x": 0.15, "alpha": 0.6}},
              {"process": {"type": "hmm", "transitions": [[[0.5, 0], [0, 0]], [[0, 0.5], [1, 0]]]}}]}
            """;
        var parsed = ProcessSpec.Parse(json);
        Assert.Equal(6, parsed.VocabSize);
        Assert.Equal(6, parsed.StateCount);

        // Noise: T'[x] = 0.9 T[x] + 0.1/6 Σ_y T[y], so the next-token distribution from any belief is 0.9 P + 0.1/6.
        var clean = ProcessBuilders.Product([new ProductFactor(BuiltinProcesses.Mess3(0.15, 0.6)), new ProductFactor(BuiltinProcesses.Even())]);
        var belief = parsed.InitialBelief;
        var noisy = BeliefMath.NextTokenDistribution(parsed, belief);
        var exact = BeliefMath.NextTokenDistribution(clean, belief);
        for (int x = 0; x < 6; x++)
        {
            Assert.Equal((0.9 * exact[x]) + (0.1 / 6), noisy[x], 14);
        }
    }

    [Fact]
    public void ChainProductSwitchesVariantsOnThePreviousFactorsToken()
    {
        // Factor 0 a fair coin; factor 1 always copies it (variant 0 emits 0, variant 1 emits 1): the joint emits 00 or 11.
        const string json = """
            {"type": "product", "structure": "chain", "factors": [
              {"process": "coin"},
              {"variants": [{"process": "coin", "params": {"p": 1}}, {"process": "coin", "params": {"p": 0}}]}],
             "control_map": [[0, 1]]}
            """;
        var chain = ProcessSpec.Parse(json);
        var p = BeliefMath.NextTokenDistribution(chain, chain.InitialBelief);
        Assert.Equal([0.5, 0, 0, 0.5], p.Select(v => Math.Round(v, 12)));
    }

    [Fact]
    public void TransitionCoupledProductKeepsEmissionsAndCouplesMoves()
    {
        // Two copies of a 2-state "sticky" process; a factor flips its state when the other factor emitted 1.
        var stay = Process.Create("stay", ProcessKind.Hmm, [[[0.8, 0], [0, 0.2]], [[0.2, 0], [0, 0.8]]], initial: [0.5, 0.5]);
        var flip = Process.Create("flip", ProcessKind.Hmm, [[[0, 0.8], [0.2, 0]], [[0, 0.2], [0.8, 0]]], initial: [0.5, 0.5]);
        var factor = new ProductFactor([stay, flip]);
        var coupled = ProcessBuilders.Product([factor, factor], ProductStructure.TransitionCoupled, [[0, 1], [0, 1]]);
        Assert.Equal(4, coupled.VocabSize);
        for (int a = 0; a < 4; a++)
        {
            // Emissions stay independent: from joint state (s0, s1) token (x0, x1) has probability P(x0|s0) P(x1|s1).
            for (int x = 0; x < 4; x++)
            {
                double row = Enumerable.Range(0, 4).Sum(b => coupled.T(x, a, b));
                double expected = ((x / 2) == (a / 2) ? 0.8 : 0.2) * ((x % 2) == (a % 2) ? 0.8 : 0.2);
                Assert.Equal(expected, row, 14);
            }

            // The start state is stationary: Σ_x π T[x] = π.
            double image = Enumerable.Range(0, 4).Sum(i => coupled.InitialBelief[i] * Enumerable.Range(0, 4).Sum(x => coupled.T(x, i, a)));
            Assert.Equal(coupled.InitialBelief[a], image, 12);
        }

        // Factor 0 in state 0 emits 0 and factor 1 emits 1: factor 0 flips to state 1, factor 1 (controlled by token 0) stays in 0.
        Assert.Equal(0.8 * 0.2, coupled.T(1, 0, 2), 14);
        Assert.Equal(0, coupled.T(1, 0, 0));
        var symmetric = ProcessBuilders.Product([factor, factor], ProductStructure.Symmetric, [[0, 1]]);
        Assert.Equal(coupled.Transitions, symmetric.Transitions);

        var leaky = Process.Create("leaky", ProcessKind.Hmm, [[[0.6, 0.3], [0, 0.2]], [[0.1, 0], [0, 0.8]]], initial: [0.5, 0.5]);
        var ex = Assert.Throws<BeliefLensInputException>(() =>
            ProcessBuilders.Product([new ProductFactor([stay, leaky]), factor], ProductStructure.TransitionCoupled, [[0, 1], [0, 1]]));
        Assert.StartsWith("factors[0].variants[1]: emits token 0", ex.Message);
    }

    [Theory]
    [InlineData("""{"type":"mixture","components":[{"process":"coin","vocab_map":[0,0]}]}""", "components[0].vocab_map: tokens 0 and 1 both map to shared token 0")]
    [InlineData("""{"type":"mixture","components":[{"process":"coin","vocab_map":[0,2]}]}""", "vocab_map: shared token 1 is used by no component")]
    [InlineData("""{"type":"mixture","components":[{"process":"coin","weight":0.5},{"process":"coin","weight":0.6}]}""", "components: the weights sum to 1.1, not 1")]
    [InlineData("""{"type":"mixture","components":[{"process":"coin","weight":0.5},{"process":"coin"}]}""", "components[1].weight: is missing")]
    [InlineData("""{"type":"mixture","components":[{"process":"coin","vocab_map":[0]}]}""", "components[0].vocab_map: has 1 entries but")]
    [InlineData("""{"type":"mixture","components":[{"process":"nope"}]}""", "components[0].process: unknown built-in 'nope'")]
    [InlineData("""{"type":"mixture","components":[{"process":"coin","params":{"p":2}}]}""", "components[0].params.p:")]
    [InlineData("""{"type":"mixture","components":[{"process":"coin","colour":1}]}""", "components[0].colour: unknown field")]
    [InlineData("""{"type":"product","factors":[{"process":"mess3"},{"process":"mess3"},{"process":"mess3"}],"max_joint_tokens":20}""", "factors: the product has more than 20 joint tokens")]
    [InlineData("""{"type":"product","factors":[{"process":"days_of_week"},{"process":"days_of_week"},{"process":"days_of_week"},{"process":"days_of_week"},{"process":"days_of_week"},{"process":"days_of_week"}]}""", "set \"max_joint_tokens\" higher")]
    [InlineData("""{"type":"product","structure":"chain","factors":[{"process":"coin"},{"process":"coin"}],"control_map":[[0]]}""", "control_map[0]: has 1 entries but needs 2")]
    [InlineData("""{"type":"product","structure":"chain","factors":[{"process":"coin"},{"process":"coin"}],"control_map":[[0,0],[0,0]]}""", "control_map: has 2 maps but this chain product of 2 factors needs 1")]
    [InlineData("""{"type":"product","structure":"chain","factors":[{"process":"coin"},{"process":"coin"}],"control_map":[[0,1]]}""", "control_map[0][1]: 1 is not a variant of factor 1")]
    [InlineData("""{"type":"product","factors":[{"process":"coin"}],"control_map":[[0]]}""", "control_map: an independent product has no control map")]
    [InlineData("""{"type":"product","factors":[{"process":"coin"}],"structure":"ring"}""", "structure: 'ring' is not")]
    [InlineData("""{"type":"product","factors":[{"process":"coin"}],"noise":1.5}""", "noise: 1.5 is outside [0, 1]")]
    [InlineData("""{"type":"product","factors":[{"process":{"type":"hmm","transitions":[[[0.5]]]}}]}""", "factors[0].process.transitions: row 0 of Σx T[x] sums to 0.5")]
    [InlineData("""{"type":"product","factors":[{"process":{"type":"mixture","components":[{"process":"coin","weight":2}]}}]}""", "factors[0].process.components: the weights sum to 2")]
    public void BadCompositeSpecsGiveOneLineErrorsNamingTheField(string json, string expected)
    {
        var ex = Assert.Throws<BeliefLensInputException>(() => ProcessSpec.Parse(json, "bad.json"));
        Assert.StartsWith("bad.json: ", ex.Message);
        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void FactoredPaperHas432JointTokens()
    {
        var process = BuiltinProcesses.FactoredPaper();
        Assert.Equal(432, process.VocabSize);
        Assert.Equal(243, process.StateCount);
        Assert.Equal(5, process.Composite!.PartCount);
        var p = BeliefMath.NextTokenDistribution(process, process.InitialBelief);
        Assert.Equal(1, p.Sum(), 12);
    }
}

public sealed class LongContextTests
{
    [Fact]
    public void CoinMspReachesDepth1000WithFewMergedBeliefs()
    {
        var coins = BuiltinProcesses.Coins(2);
        var msp = MixedStatePresentation.Build(coins, 1000);
        for (int depth = 0; depth <= 1000; depth += 100)
        {
            Assert.True(msp.FirstDepth.Count(d => d == depth) <= depth + 1);
        }

        // h(ℓ) decreases to the floor from above; at ℓ = 1000 it is within 1e-4 of it.
        double floor = LossFloor.Asymptotic(coins);
        Assert.InRange(msp.MyopicEntropies[999] - floor, 0, 1e-4);
        var curve = BayesLossCurve.Compute(coins, 999);
        Assert.True(curve.Exact);
        Assert.Equal(msp.MyopicEntropies[1], curve.Loss[0]);
    }

    [Fact]
    public void MonteCarloBayesLossAgreesWithTheExactCurve()
    {
        var coins = BuiltinProcesses.Coins(3);
        var exact = BayesLossCurve.Compute(coins, 30);
        var sampled = BayesLossCurve.Sampled(coins, 30, 4000, seed: 7);
        Assert.True(exact.Exact);
        Assert.False(sampled.Exact);
        for (int t = 0; t < 30; t++)
        {
            Assert.True(sampled.StandardError[t] > 0);
            Assert.True(Math.Abs(sampled.Loss[t] - exact.Loss[t]) < 4.5 * sampled.StandardError[t], $"position {t}");
        }

        // Too many beliefs for the MSP: the curve falls back to sampling.
        var fallback = BayesLossCurve.Compute(BuiltinProcesses.Mess3(), 12, maxMspStates: 1000, samples: 200);
        Assert.False(fallback.Exact);
        Assert.Equal(200, fallback.Sequences);
    }

    [Fact]
    public void DursleyWonkaFirstNameCostsLn2AndLaterNamesNothing()
    {
        // Scored from position 1: a name predicted right after BOS (no "Mr." before it) is a start-up effect.
        var process = BuiltinProcesses.DursleyWonka();
        const int n = 500, context = 40;
        var sequences = new int[n * (context + 1)];
        new ProcessSampler(process).Sample(new Rng(3), sequences, n, context + 1);
        var losses = EventConditionedLoss.BayesLosses(process, sequences, context);
        var (mean, count) = EventConditionedLoss.ByOccurrence(sequences, losses, context, new HashSet<int> { 3, 4 }, 3, firstPosition: 1);
        Assert.True(count[0] > 100 && count[1] > 50);
        Assert.Equal(Math.Log(2), mean[0], 12);
        Assert.Equal(0, mean[1], 12);
        Assert.Equal(0, mean[2], 12);
    }
}

public sealed class CompositeCsvTests
{
    [Fact]
    public void PartsCsvHasTheMetaBeliefAndEachComponentsBelief()
    {
        var coins = BuiltinProcesses.Coins(2);
        var tree = BeliefTree.Enumerate(coins, 2);
        using var writer = new StringWriter();
        BeliefsCsv.WriteParts(tree, writer);
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("prefix,meta_0,meta_1,component0_A,component1_A", lines[0]);
        Assert.Equal(tree.Count + 1, lines.Length);

        // After "0 0" the posterior of coin 0 (P(0) = 1/3) is (1/9) / (1/9 + 4/9) = 0.2.
        var row = lines.Single(l => l.StartsWith("0 0,", StringComparison.Ordinal)).Split(',');
        Assert.Equal(0.2, double.Parse(row[1], System.Globalization.CultureInfo.InvariantCulture), 12);
        Assert.Equal(0.8, double.Parse(row[2], System.Globalization.CultureInfo.InvariantCulture), 12);
        Assert.Equal("1", row[3]);
    }
}
