using BeliefLens.Build;
using TorchSharp;

namespace BeliefLens.Torch.Tests;

/// <summary>A fact that reads TorchSharp's linux-x64 native library from the NuGet cache; skipped where that restore is absent.</summary>
public sealed class LinuxTorchSharpFactAttribute : FactAttribute
{
    public LinuxTorchSharpFactAttribute()
    {
        if (!File.Exists(NativeLibraryPatchTests.PackageLibrary()))
        {
            Skip = $"no linux-x64 TorchSharp restore at {NativeLibraryPatchTests.PackageLibrary()}: the patch has nothing to do here; this check did not run.";
        }
    }
}

public sealed class NativeLibraryPatchTests
{
    private const string Version = "GLIBCXX_3.4.32";

    public static string PackageLibrary()
    {
        // The pristine copy in the NuGet cache is only read here, never written.
        string home = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Path.Combine(home, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
    }

    [LinuxTorchSharpFact]
    public void MarkingTheNeedWeakIsIdempotentAndTouchesOnlyTheFlag()
    {
        string source = PackageLibrary();

        byte[] original = File.ReadAllBytes(source);
        Assert.Equal((ushort)0, (ushort)(ElfVersionNeedPatcher.VersionNeedFlags(original, Version)!.Value & 2));

        string copy = Path.Combine(Path.GetTempPath(), $"belieflens-patch-{Guid.NewGuid():N}.so");
        try
        {
            File.WriteAllBytes(copy, original);
            Assert.Equal(ElfPatchResult.Patched, ElfVersionNeedPatcher.MarkVersionNeedWeak(copy, Version));
            byte[] once = File.ReadAllBytes(copy);
            Assert.Equal(ElfPatchResult.AlreadyWeak, ElfVersionNeedPatcher.MarkVersionNeedWeak(copy, Version));
            byte[] twice = File.ReadAllBytes(copy);

            Assert.Equal(once, twice);
            Assert.Equal(2, ElfVersionNeedPatcher.VersionNeedFlags(once, Version)!.Value & 2);
            int differing = Enumerable.Range(0, original.Length).Count(k => original[k] != once[k]);
            Assert.Equal(1, differing); // exactly the low byte of one vna_flags field
            Assert.Equal(original, File.ReadAllBytes(source));
        }
        finally
        {
            File.Delete(copy);
        }
    }

    [LinuxTorchSharpFact]
    public void AnUnneededVersionIsReportedAndNothingChanges()
    {
        string source = PackageLibrary();

        byte[] bytes = File.ReadAllBytes(source);
        byte[] before = (byte[])bytes.Clone();
        Assert.Equal(ElfPatchResult.VersionNotNeeded, ElfVersionNeedPatcher.MarkVersionNeedWeak(bytes, "GLIBCXX_9.9.99"));
        Assert.Equal(ElfPatchResult.NotElf64LittleEndian, ElfVersionNeedPatcher.MarkVersionNeedWeak(new byte[100], Version));
        Assert.Equal(before, bytes);
    }

    [Fact]
    public void TorchSharpLoadsAndComputes()
    {
        using var ones = torch.ones(2);
        using var sum = ones.sum();
        Assert.Equal(2f, sum.item<float>());
    }
}
