namespace BeliefLens.Runs;

public sealed partial class RunDirectory
{
    private const string CompositeFile = "composite.json";

    /// <summary>composite.json: the mixture/product analyses of a run on a composite process (Bayes curve, events, factors).</summary>
    public string CompositePath => Combine(CompositeFile);
}
