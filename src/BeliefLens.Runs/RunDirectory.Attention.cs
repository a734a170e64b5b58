namespace BeliefLens.Runs;

/// <summary>The outputs of <c>belieflens attention</c>: attention.json, attention.html and figures/attention-*.</summary>
public sealed partial class RunDirectory
{
    private const string AttentionFile = "attention.json";
    private const string AttentionReportFile = "attention.html";

    /// <summary>attention.json (<see cref="AttentionResult"/>).</summary>
    public string AttentionPath => Combine(AttentionFile);

    /// <summary>attention.html: the attention analysis as a report section on its own page.</summary>
    public string AttentionReportPath => Combine(AttentionReportFile);

    /// <summary>Whether this directory holds an attention analysis.</summary>
    public bool HasAttention => File.Exists(AttentionPath);

    public AttentionResult ReadAttention() => ReadFile<AttentionResult>(AttentionPath, "run 'belieflens attention' first");
}
