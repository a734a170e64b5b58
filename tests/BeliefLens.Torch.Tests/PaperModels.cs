namespace BeliefLens.Torch.Tests;

/// <summary>The paper's published models, found at ../shared/paper-models relative to the repository root.</summary>
public static class PaperModels
{
    public static string? Directory { get; } = Locate();

    private static string? Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "BeliefLens.slnx")))
            {
                string candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "paper-models"));
                return System.IO.Directory.Exists(Path.Combine(candidate, "mess3")) ? candidate : null;
            }
        }

        return null;
    }
}

/// <summary>A fact that needs the paper's checkpoints; skipped with the reason when they are absent.</summary>
public sealed class PaperModelsFactAttribute : FactAttribute
{
    public PaperModelsFactAttribute()
    {
        if (PaperModels.Directory is null)
        {
            Skip = "the paper's checkpoints are not at ../shared/paper-models relative to the repository root; this check did not run.";
        }
    }
}
