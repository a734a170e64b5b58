using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Xml;
using BeliefLens.Core;

namespace BeliefLens.Reporting;

/// <summary>
/// Writes an <see cref="MspGraph"/> as Graphviz DOT and as GraphML (networkx, Gephi and yEd read it), and renders DOT
/// to SVG or PNG with Graphviz's <c>dot</c>. Recurrent states are filled and solid, transient ones dashed, states
/// whose fate the truncated search left open dotted; a state with transitions cut by the depth cap shows "…".
/// </summary>
public static class MspGraphFiles
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The DOT text of the graph.</summary>
    public static string ToDot(MspGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var sb = new StringBuilder();
        sb.Append("digraph msp {\n");
        string caption = $"{graph.ProcessName}: {Describe(graph)}\nbelief over ({string.Join(", ", graph.StateNames)}); "
            + (graph.StationaryIsWithinClass ? "π within each recurrent class" : "π = long-run probability");
        sb.Append("  graph [rankdir=LR, labelloc=t, fontname=\"DejaVu Sans\", fontsize=12, label=").Append(Quote(caption)).Append("];\n");
        sb.Append("  node [fontname=\"DejaVu Sans\", fontsize=10, shape=ellipse];\n");
        sb.Append("  edge [fontname=\"DejaVu Sans\", fontsize=9, color=\"#59636e\"];\n");
        foreach (var node in graph.Nodes)
        {
            var label = new StringBuilder(BeliefText(node.Belief));
            if (node.Kind == MspStateKind.Recurrent)
            {
                label.Append("\nπ = ").Append(node.Stationary.ToString("0.####", Invariant));
            }

            if (node.Id == 0)
            {
                label.Append("\nstart");
            }

            if (node.Truncated)
            {
                label.Append("\n…");
            }

            string style = node.Kind switch
            {
                MspStateKind.Recurrent => "style=filled, fillcolor=\"#cfe3f3\", color=\"#0072B2\", penwidth=2",
                MspStateKind.Transient => "style=dashed, color=\"#59636e\"",
                _ => "style=dotted, color=\"#59636e\"",
            };
            sb.Append("  s").Append(node.Id.ToString(Invariant)).Append(" [label=").Append(Quote(label.ToString()))
              .Append(", ").Append(style).Append(", kind=").Append(Quote(Kind(node.Kind))).Append("];\n");
        }

        foreach (var edge in graph.Edges)
        {
            string label = $"{TokenName(graph, edge.Token)}: {edge.Probability.ToString("0.###", Invariant)}";
            sb.Append("  s").Append(edge.From.ToString(Invariant)).Append(" -> s").Append(edge.To.ToString(Invariant))
              .Append(" [label=").Append(Quote(label)).Append("];\n");
        }

        sb.Append("}\n");
        return sb.ToString();
    }

    /// <summary>The GraphML text of the graph: node data belief, kind, stationary, depth, truncated; edge data token, probability.</summary>
    public static string ToGraphMl(MspGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false) };
        using var stream = new MemoryStream();
        using (var xml = XmlWriter.Create(stream, settings))
        {
            const string ns = "http://graphml.graphdrawing.org/xmlns";
            xml.WriteStartDocument();
            xml.WriteStartElement("graphml", ns);
            Key(xml, "belief", "node", "string");
            Key(xml, "kind", "node", "string");
            Key(xml, "stationary", "node", "double");
            Key(xml, "depth", "node", "int");
            Key(xml, "truncated", "node", "boolean");
            Key(xml, "token", "edge", "string");
            Key(xml, "token_index", "edge", "int");
            Key(xml, "probability", "edge", "double");
            Key(xml, "process", "graph", "string");
            Key(xml, "hidden_states", "graph", "string");
            Key(xml, "complete", "graph", "boolean");
            xml.WriteStartElement("graph");
            xml.WriteAttributeString("id", "msp");
            xml.WriteAttributeString("edgedefault", "directed");
            Data(xml, "process", graph.ProcessName);
            Data(xml, "hidden_states", string.Join(" ", graph.StateNames));
            Data(xml, "complete", graph.IsComplete ? "true" : "false");
            foreach (var node in graph.Nodes)
            {
                xml.WriteStartElement("node");
                xml.WriteAttributeString("id", "s" + node.Id.ToString(Invariant));
                Data(xml, "belief", string.Join(" ", node.Belief.Select(b => b.ToString("R", Invariant))));
                Data(xml, "kind", Kind(node.Kind));
                Data(xml, "stationary", node.Stationary.ToString("R", Invariant));
                Data(xml, "depth", node.FirstDepth.ToString(Invariant));
                Data(xml, "truncated", node.Truncated ? "true" : "false");
                xml.WriteEndElement();
            }

            int id = 0;
            foreach (var edge in graph.Edges)
            {
                xml.WriteStartElement("edge");
                xml.WriteAttributeString("id", "e" + (id++).ToString(Invariant));
                xml.WriteAttributeString("source", "s" + edge.From.ToString(Invariant));
                xml.WriteAttributeString("target", "s" + edge.To.ToString(Invariant));
                Data(xml, "token", TokenName(graph, edge.Token));
                Data(xml, "token_index", edge.Token.ToString(Invariant));
                Data(xml, "probability", edge.Probability.ToString("R", Invariant));
                xml.WriteEndElement();
            }

            xml.WriteEndElement();
            xml.WriteEndElement();
            xml.WriteEndDocument();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>"7 states (3 recurrent, 4 transient)", with the cut named when the graph is not the whole MSP.</summary>
    public static string Describe(MspGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        int recurrent = graph.Nodes.Count(n => n.Kind == MspStateKind.Recurrent);
        int transient = graph.Nodes.Count(n => n.Kind == MspStateKind.Transient);
        int unresolved = graph.Nodes.Count - recurrent - transient;
        string counts = $"{graph.Nodes.Count} states ({recurrent} recurrent, {transient} transient{(unresolved > 0 ? $", {unresolved} unresolved" : "")})";
        return graph.IsComplete ? counts : $"{counts} reached within {graph.MaxDepth} tokens; cut there";
    }

    /// <summary>
    /// Writes the graph to <paramref name="path"/> by its extension: <c>.dot</c>/<c>.gv</c> and <c>.graphml</c> as text,
    /// <c>.svg</c> and <c>.png</c> rendered by Graphviz from a DOT file written beside it (same name, <c>.dot</c>).
    /// Returns the files written and, when <c>dot</c> is not installed, a one-line note (the DOT file is still written).
    /// </summary>
    public static (IReadOnlyList<string> Written, string? Note) Write(MspGraph graph, string path)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(full);
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }

        string extension = Path.GetExtension(full).ToLowerInvariant();
        switch (extension)
        {
            case ".dot" or ".gv":
                WriteText(full, ToDot(graph));
                return ([full], null);
            case ".graphml":
                WriteText(full, ToGraphMl(graph));
                return ([full], null);
            case ".svg" or ".png":
                string dotPath = Path.ChangeExtension(full, ".dot");
                WriteText(dotPath, ToDot(graph));
                return Graphviz.Render(dotPath, full)
                    ? ([dotPath, full], null)
                    : ([dotPath], $"Graphviz 'dot' is not installed, so {Path.GetFileName(full)} was not drawn; wrote {dotPath} (apt-get install graphviz).");
            default:
                throw new BeliefLensInputException($"--graph: '{path}' must end in .dot, .gv, .graphml, .svg or .png.");
        }
    }

    private static void WriteText(string path, string text) =>
        FigureWriter.WriteAtomically(path, stream => stream.Write(new UTF8Encoding(false).GetBytes(text)));

    private static void Key(XmlWriter xml, string name, string domain, string type)
    {
        xml.WriteStartElement("key");
        xml.WriteAttributeString("id", name);
        xml.WriteAttributeString("for", domain);
        xml.WriteAttributeString("attr.name", name);
        xml.WriteAttributeString("attr.type", type);
        xml.WriteEndElement();
    }

    private static void Data(XmlWriter xml, string key, string value)
    {
        xml.WriteStartElement("data");
        xml.WriteAttributeString("key", key);
        xml.WriteString(value);
        xml.WriteEndElement();
    }

    private static string BeliefText(double[] belief) =>
        "(" + string.Join(", ", belief.Select(b => b.ToString("0.###", Invariant))) + ")";

    private static string TokenName(MspGraph graph, int token) =>
        token < graph.TokenNames.Count ? graph.TokenNames[token] : token.ToString(Invariant);

    private static string Kind(MspStateKind kind) => kind switch
    {
        MspStateKind.Recurrent => "recurrent",
        MspStateKind.Transient => "transient",
        _ => "unresolved",
    };

    // DOT string literal: backslash and quote escaped; newlines become DOT's centred line break \n.
    private static string Quote(string text) =>
        "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal) + "\"";
}

/// <summary>Graphviz's <c>dot</c>, run as a child process.</summary>
public static class Graphviz
{
    /// <summary>
    /// Renders <paramref name="dotPath"/> to <paramref name="outputPath"/> (format from its extension: svg or png),
    /// atomically. False when <c>dot</c> is not on PATH; a failed rendering throws with dot's message.
    /// </summary>
    public static bool Render(string dotPath, string outputPath)
    {
        ArgumentNullException.ThrowIfNull(dotPath);
        ArgumentNullException.ThrowIfNull(outputPath);
        string format = Path.GetExtension(outputPath).TrimStart('.').ToLowerInvariant();
        string temp = outputPath + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var start = new ProcessStartInfo("dot") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-T" + format);
        start.ArgumentList.Add("-o" + temp);
        start.ArgumentList.Add(dotPath);
        try
        {
            using var process = System.Diagnostics.Process.Start(start) ?? throw new IOException("graph: could not start Graphviz 'dot'.");
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new IOException($"graph: Graphviz 'dot' failed on {dotPath} (exit {process.ExitCode}): {stderr.Result.Trim()}");
            }

            File.Move(temp, outputPath, overwrite: true);
            return true;
        }
        catch (Win32Exception)
        {
            return false; // no 'dot' on PATH
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }
}
