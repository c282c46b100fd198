using Herald.Proxy.Config;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Herald.Proxy.Inject;

/// <summary>One YAML document of a manifest stream: its original text (comments and all) and its node tree.</summary>
internal sealed record ManifestDocument(int Number, string Text, YamlNode Root, bool ExplicitStart)
{
    /// <summary>An empty document (<c>---</c> with nothing, or only comments) has a null root.</summary>
    public bool IsEmpty => Root is YamlScalarNode { Value: null or "" or "~" or "null" } scalar && scalar.Style is ScalarStyle.Plain or ScalarStyle.Any;
}

/// <summary>
/// Splits a multi-document YAML stream into documents that keep their exact text, so a
/// document nobody changes is written back byte for byte, and one that changes is
/// re-emitted from its node tree (keys in their order, scalar styles kept; comments of
/// that one document are lost).
/// </summary>
internal static class ManifestStream
{
    public static IReadOnlyList<ManifestDocument> Parse(string text)
    {
        var starts = DocumentStarts(text);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw Malformed(text, e);
        }
        catch (ArgumentException e)
        {
            // Duplicate mapping keys surface as the dictionary's ArgumentException.
            throw new ConfigException("input", $"malformed YAML: {e.Message}", "Give each key once per mapping");
        }

        var documents = new List<ManifestDocument>(stream.Documents.Count);
        for (var i = 0; i < stream.Documents.Count; i++)
        {
            var from = i == 0 ? 0 : starts[i].Index;
            var to = i + 1 < starts.Count ? starts[i + 1].Index : text.Length;
            documents.Add(new ManifestDocument(i + 1, text[from..to], stream.Documents[i].RootNode, starts[i].Explicit));
        }

        return documents;
    }

    private static List<(int Index, bool Explicit)> DocumentStarts(string text)
    {
        var starts = new List<(int, bool)>();
        var parser = new Parser(new StringReader(text));
        try
        {
            while (parser.MoveNext())
            {
                if (parser.Current is DocumentStart start)
                {
                    starts.Add(((int)start.Start.Index, !start.IsImplicit));
                }
            }
        }
        catch (YamlException e)
        {
            throw Malformed(text, e);
        }

        return starts;
    }

    private static ConfigException Malformed(string text, YamlException e)
    {
        var mark = e.Start;
        var document = DocumentNumberAt(text, (int)mark.Index);
        return new ConfigException(
            $"document {document}, line {mark.Line}, column {mark.Column}",
            $"malformed YAML: {Inner(e)}",
            "Fix the YAML (kubectl apply --dry-run=client -f FILE shows the same spot); nothing was written");
    }

    private static string Inner(Exception e)
    {
        var message = e.Message;
        var paren = message.IndexOf("): ", StringComparison.Ordinal);
        return paren > 0 ? message[(paren + 3)..] : message;
    }

    // Counts the '---' separators before the failure, since the parser stops at the error.
    private static int DocumentNumberAt(string text, int index)
    {
        var number = 0;
        foreach (var line in text[..Math.Min(index, text.Length)].Split('\n'))
        {
            var trimmed = line.TrimEnd();
            if (trimmed == "---" || trimmed.StartsWith("--- ", StringComparison.Ordinal))
            {
                number++;
            }
            else if (number == 0 && trimmed.Length > 0 && trimmed[0] != '#')
            {
                number = 1;
            }
        }

        return Math.Max(number, 1);
    }
}
