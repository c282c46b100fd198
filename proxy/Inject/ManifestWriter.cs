using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Herald.Proxy.Inject;

/// <summary>
/// Writes one document's node tree as block YAML: keys in their order, each scalar in the
/// style it was read with (new scalars say theirs), sequences indented under their key,
/// no line folding. Aliases are written out in full (anchors are not kept).
/// </summary>
internal static class ManifestWriter
{
    private static readonly EmitterSettings Settings = EmitterSettings.Default
        .WithBestWidth(int.MaxValue)
        .WithIndentedSequences();

    public static string Write(YamlNode root)
    {
        var text = new StringWriter(CultureInfo.InvariantCulture);
        var emitter = new Emitter(text, Settings);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        Emit(emitter, root);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return text.ToString();
    }

    private static void Emit(IEmitter emitter, YamlNode node)
    {
        switch (node)
        {
            case YamlScalarNode scalar:
                var style = scalar.Style;
                var tagged = !scalar.Tag.IsEmpty;
                emitter.Emit(new Scalar(AnchorName.Empty, scalar.Tag, scalar.Value ?? string.Empty, style, isPlainImplicit: !tagged, isQuotedImplicit: !tagged));
                break;
            case YamlSequenceNode sequence:
                emitter.Emit(new SequenceStart(AnchorName.Empty, sequence.Tag, sequence.Tag.IsEmpty, sequence.Style));
                foreach (var child in sequence.Children)
                {
                    Emit(emitter, child);
                }

                emitter.Emit(new SequenceEnd());
                break;
            case YamlMappingNode mapping:
                emitter.Emit(new MappingStart(AnchorName.Empty, mapping.Tag, mapping.Tag.IsEmpty, mapping.Style));
                foreach (var (key, value) in mapping.Children)
                {
                    Emit(emitter, key);
                    Emit(emitter, value);
                }

                emitter.Emit(new MappingEnd());
                break;
            default:
                throw new InvalidOperationException($"unexpected YAML node {node.NodeType}");
        }
    }
}
