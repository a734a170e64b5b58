namespace BeliefLens.Reporting;

/// <summary>The standard drawing of the 2-simplex: vertex 0 at (0,0), vertex 1 at (1,0), vertex 2 at (1/2, √3/2).</summary>
public static class SimplexProjection
{
    public static readonly double Height = Math.Sqrt(3) / 2;

    public static (double X, double Y) Project(double b0, double b1, double b2)
    {
        _ = b0; // b0 is implied by b1 and b2 on the simplex; kept in the signature so callers pass whole beliefs.
        return (b1 + (b2 / 2), Height * b2);
    }

    /// <summary>Projects flat beliefs <c>[N][3]</c> to xs and ys.</summary>
    public static (double[] Xs, double[] Ys) Project(ReadOnlySpan<double> beliefs)
    {
        if (beliefs.Length % 3 != 0)
        {
            throw new ArgumentException($"beliefs: length {beliefs.Length} is not a multiple of 3 states.", nameof(beliefs));
        }

        int n = beliefs.Length / 3;
        var xs = new double[n];
        var ys = new double[n];
        for (int k = 0; k < n; k++)
        {
            (xs[k], ys[k]) = Project(beliefs[3 * k], beliefs[(3 * k) + 1], beliefs[(3 * k) + 2]);
        }

        return (xs, ys);
    }

    /// <summary>Vertices of the drawn triangle, in state order.</summary>
    public static (double X, double Y)[] Vertices { get; } = [(0, 0), (1, 0), (0.5, Height)];
}
