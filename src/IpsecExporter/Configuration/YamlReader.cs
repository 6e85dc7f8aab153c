using System.Globalization;
using System.Net;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace IpsecExporter.Configuration;

/// <summary>
/// Collects errors while walking a YAML document, so that one pass reports every problem with its line and column.
/// </summary>
internal sealed class ConfigErrors(string file)
{
    private readonly List<ConfigError> _errors = [];

    public string File { get; } = file;

    public IReadOnlyList<ConfigError> All => _errors;

    public void Add(YamlNode node, string message) => Add(node.Start.Line, node.Start.Column, message);

    public void Add(long line, long column, string message) => _errors.Add(new ConfigError(File, line, column, message));
}

/// <summary>
/// Reads a YAML file into YamlDotNet's node tree without letting the file crash or stall the process. YamlDotNet's
/// loader recurses once per nesting level and hashes mapping keys recursively, so a deep file overflows the stack
/// (which no catch survives), a self-referencing alias hashes for ever, and a few nested aliases expand into billions
/// of nodes. So the file is first walked as a flat event stream, which checks <see cref="MaxBytes"/>,
/// <see cref="MaxDepth"/>, <see cref="MaxNodes"/> and every alias before the loader sees it. Every failure is a
/// <see cref="ConfigException"/> with a position, never another exception.
/// </summary>
internal static class YamlDocuments
{
    /// <summary>A thousand fully described tunnels take about 600 KB.</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    /// <summary>The configuration nests 5 levels deep; the loader's recursion is safe far beyond this on any thread.</summary>
    public const int MaxDepth = 64;

    /// <summary>Nodes in the document once every alias is expanded (the "billion laughs" bound).</summary>
    public const int MaxNodes = 1_000_000;

    /// <summary>Reads at most <see cref="MaxBytes"/> of <paramref name="path"/>, whatever kind of file it is.</summary>
    public static string ReadFile(string path, string what)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.CanSeek && stream.Length > MaxBytes)
            {
                throw TooLarge(path, what);
            }

            var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = stream.Read(chunk)) > 0)
            {
                if (buffer.Length + read > MaxBytes)
                {
                    throw TooLarge(path, what);
                }

                buffer.Write(chunk, 0, read);
            }

            buffer.Position = 0;
            using var reader = new StreamReader(buffer, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            return reader.ReadToEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException([new ConfigError(path, 1, 1, $"cannot read {what}: {e.Message}")]);
        }
    }

    /// <summary>Parses <paramref name="text"/> (read from <paramref name="path"/>) after checking it against the limits.</summary>
    public static YamlStream Parse(string path, string text, string what)
    {
        if (text.Length > MaxBytes || Encoding.UTF8.GetByteCount(text) > MaxBytes)
        {
            throw TooLarge(path, what);
        }

        Check(path, text);
        var stream = new YamlStream();
        var parser = new Parser(new StringReader(text));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            throw SyntaxError(path, e.Start, e.InnerException is YamlException inner ? inner.Message : e.Message);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // Event sequences the parser accepts but the node loader does not (`? : x`): no position of its own.
            throw SyntaxError(path, parser.Current?.Start ?? Mark.Empty, $"a structure the YAML loader does not support ({e.Message})");
        }

        return stream;
    }

    private static ConfigException TooLarge(string path, string what) =>
        new([new ConfigError(path, 1, 1, $"{what} is larger than {MaxBytes / (1024 * 1024)} MiB, the limit for a configuration file")]);

    private static ConfigException SyntaxError(string path, Mark at, string message) =>
        new([new ConfigError(path, Math.Max(at.Line, 1), Math.Max(at.Column, 1), $"YAML syntax error: {message}")]);

    /// <summary>One pass over the parser's events: nesting depth, alias targets and the expanded node count.</summary>
    private static void Check(string path, string text)
    {
        var parser = new Parser(new StringReader(text));
        var open = new Stack<OpenCollection>();
        // Anchor name -> expanded size of the node it names; null while that node is still open (an alias to it is a cycle).
        var anchors = new Dictionary<string, long?>(StringComparer.Ordinal);
        long nodes = 0;
        var position = Mark.Empty;
        try
        {
            while (parser.MoveNext())
            {
                var current = parser.Current!;
                position = current.End;
                switch (current)
                {
                    case DocumentStart:
                        // Anchors do not cross documents.
                        anchors.Clear();
                        break;
                    case AnchorAlias alias:
                        var name = alias.Value.Value;
                        if (!anchors.TryGetValue(name, out var size))
                        {
                            throw Error(alias.Start, $"YAML alias *{name} refers to no anchor defined before it");
                        }

                        if (size is null)
                        {
                            throw Error(alias.Start, $"YAML alias *{name} refers to a node that contains it (a cycle)");
                        }

                        nodes += size.Value;
                        break;
                    case Scalar scalar:
                        nodes++;
                        if (!scalar.Anchor.IsEmpty)
                        {
                            anchors[scalar.Anchor.Value] = 1;
                        }

                        break;
                    case NodeEvent start when start is SequenceStart or MappingStart:
                        nodes++;
                        if (open.Count == MaxDepth)
                        {
                            throw Error(start.Start, $"YAML nesting deeper than {MaxDepth} levels, the limit for a configuration file");
                        }

                        var anchor = start.Anchor.IsEmpty ? null : start.Anchor.Value;
                        var flow = start is SequenceStart { Style: SequenceStyle.Flow } or MappingStart { Style: MappingStyle.Flow };
                        open.Push(new OpenCollection(start.Start, start is SequenceStart, flow, anchor, nodes));
                        if (anchor is not null)
                        {
                            anchors[anchor] = null;
                        }

                        break;
                    case SequenceEnd or MappingEnd when open.Count > 0:
                        var closed = open.Pop();
                        if (closed.Anchor is not null && anchors.TryGetValue(closed.Anchor, out var pending) && pending is null)
                        {
                            anchors[closed.Anchor] = nodes - closed.NodesBefore + 1;
                        }

                        break;
                }

                if (nodes > MaxNodes)
                {
                    throw Error(current.Start, string.Create(CultureInfo.InvariantCulture, $"YAML document has more than {MaxNodes:N0} nodes once aliases are expanded, the limit for a configuration file"));
                }
            }
        }
        catch (YamlException e)
        {
            throw SyntaxError(path, e.Start, e.Message);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet gives up on some input with these instead of a YamlException, and without a position: an
            // unterminated flow collection (`a: [b` then `c: d`), a verbatim tag that is not a URI (`!<:>`). Name the
            // flow collection that was never closed, or where parsing stopped.
            var flow = open.FirstOrDefault(c => c.Flow);
            throw e is InvalidOperationException && flow is not null
                ? SyntaxError(path, flow.Start, $"the flow {(flow.Sequence ? "sequence '['" : "mapping '{'")} opened here is never closed")
                : SyntaxError(path, position, e is InvalidOperationException ? "unexpected end of the document" : $"invalid YAML after this point ({e.Message})");
        }

        ConfigException Error(Mark at, string message) => new([new ConfigError(path, Math.Max(at.Line, 1), Math.Max(at.Column, 1), message)]);
    }

    private sealed record OpenCollection(Mark Start, bool Sequence, bool Flow, string? Anchor, long NodesBefore);
}

/// <summary>
/// A YAML mapping whose keys are checked against the keys it may have. Typed getters report wrong types at the value's
/// position and return null, so the caller keeps going and finds the next error too.
/// </summary>
internal sealed class YamlMap
{
    private readonly Dictionary<string, (YamlNode Key, YamlNode Value)> _entries = new(StringComparer.Ordinal);
    private readonly ConfigErrors _errors;

    private YamlMap(YamlMappingNode node, string path, ConfigErrors errors)
    {
        Node = node;
        Path = path;
        _errors = errors;
        foreach (var (key, value) in node.Children)
        {
            if (key is YamlScalarNode { Value: { } name })
            {
                _entries[name] = (key, value);
            }
            else
            {
                errors.Add(key, $"{path}: keys must be plain strings");
            }
        }
    }

    public YamlMappingNode Node { get; }

    public string Path { get; }

    /// <summary>Wraps <paramref name="node"/> as a mapping; reports keys outside <paramref name="allowedKeys"/>.</summary>
    public static YamlMap? From(YamlNode? node, string path, ConfigErrors errors, IReadOnlyCollection<string> allowedKeys, IReadOnlyDictionary<string, string>? forbiddenKeys = null)
    {
        if (node is null || IsNull(node))
        {
            return null;
        }

        if (node is not YamlMappingNode mapping)
        {
            errors.Add(node, $"{path}: expected a mapping (key: value pairs), got {Describe(node)}");
            return null;
        }

        var map = new YamlMap(mapping, path, errors);
        foreach (var (name, (key, _)) in map._entries)
        {
            if (forbiddenKeys is not null && forbiddenKeys.TryGetValue(name, out var why))
            {
                errors.Add(key, $"{Join(path, name)}: {why}");
            }
            else if (!allowedKeys.Contains(name))
            {
                errors.Add(key, $"{path}: unknown key '{name}' (expected one of: {string.Join(", ", allowedKeys)})");
            }
        }

        return map;
    }

    public bool Has(string key) => _entries.TryGetValue(key, out var entry) && !IsNull(entry.Value);

    public YamlNode? ValueNode(string key) => _entries.TryGetValue(key, out var entry) && !IsNull(entry.Value) ? entry.Value : null;

    public string Child(string key) => Join(Path, key);

    public string? String(string key, bool required = false)
    {
        var node = ValueNode(key);
        if (node is null)
        {
            if (required)
            {
                _errors.Add(Node, $"{Path}: missing required key '{key}'");
            }

            return null;
        }

        if (node is not YamlScalarNode scalar)
        {
            _errors.Add(node, $"{Child(key)}: expected a string, got {Describe(node)}");
            return null;
        }

        if (string.IsNullOrWhiteSpace(scalar.Value))
        {
            _errors.Add(node, $"{Child(key)}: must not be empty");
            return null;
        }

        return scalar.Value.Trim();
    }

    public bool? Bool(string key)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }

        if (bool.TryParse(text, out var value))
        {
            return value;
        }

        _errors.Add(ValueNode(key)!, $"{Child(key)}: expected true or false, got '{text}'");
        return null;
    }

    public int? Integer(string key, int min, int max)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }

        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        _errors.Add(ValueNode(key)!, $"{Child(key)}: expected a whole number from {min} to {max}, got '{text}'");
        return null;
    }

    /// <summary>
    /// The longest any duration may be: .NET timers and delays refuse more than 49.7 days, and every duration here ends
    /// up in one (or in a sum with another).
    /// </summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(30);

    /// <summary>A duration from <paramref name="min"/> to <paramref name="max"/> (default <see cref="MaxDuration"/>).</summary>
    public TimeSpan? Duration(string key, TimeSpan? min = null, TimeSpan? max = null)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }

        if (!DurationParser.TryParse(text, out var value))
        {
            _errors.Add(ValueNode(key)!, $"{Child(key)}: invalid duration '{text}' (use e.g. 500ms, 30s, 5m, 8h, 5h20m)");
            return null;
        }

        if (min is { } least && value < least)
        {
            _errors.Add(ValueNode(key)!, $"{Child(key)}: duration '{text}' must be at least {DurationParser.Format(least)}");
            return null;
        }

        var most = max ?? MaxDuration;
        if (value > most)
        {
            _errors.Add(ValueNode(key)!, $"{Child(key)}: duration '{text}' must be at most {DurationParser.Format(most)}");
            return null;
        }

        return value;
    }

    public IPAddress? Ip(string key, bool required = false)
    {
        var text = String(key, required);
        return text is null ? null : ParseIp(ValueNode(key)!, Child(key), text, _errors);
    }

    public Uri? HttpUrl(string key, bool required = false)
    {
        var text = String(key, required);
        if (text is null)
        {
            return null;
        }

        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            if (uri.UserInfo.Length == 0)
            {
                return uri;
            }

            // user:password@ is an inline secret, and URLs end up in logs and reports: never echo it.
            _errors.Add(ValueNode(key)!, $"{Child(key)}: credentials in the URL are not allowed (inline secret); use a *_file or *_env setting");
            return null;
        }

        if (HasUserInfo(text))
        {
            // Not a valid URL, but it still holds credentials: the message must not quote it.
            _errors.Add(ValueNode(key)!, $"{Child(key)}: {UserInfoNotAllowed}");
            return null;
        }

        _errors.Add(ValueNode(key)!, $"{Child(key)}: invalid URL '{Quotable(text)}' (expected http:// or https://)");
        return null;
    }

    /// <summary>The items of a sequence value; reports a non-sequence value.</summary>
    public IReadOnlyList<YamlNode> Sequence(string key, bool required = false)
    {
        var node = ValueNode(key);
        if (node is null)
        {
            if (required)
            {
                _errors.Add(Node, $"{Path}: missing required key '{key}'");
            }

            return [];
        }

        if (node is not YamlSequenceNode sequence)
        {
            _errors.Add(node, $"{Child(key)}: expected a list, got {Describe(node)}");
            return [];
        }

        return sequence.Children.ToList();
    }

    /// <summary>A list of non-empty strings.</summary>
    public IReadOnlyList<(YamlNode Node, string Value)> StringList(string key)
    {
        var result = new List<(YamlNode, string)>();
        var items = Sequence(key);
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is YamlScalarNode { Value: { } value } && !string.IsNullOrWhiteSpace(value))
            {
                result.Add((items[i], value.Trim()));
            }
            else
            {
                _errors.Add(items[i], $"{Child(key)}[{i}]: expected a non-empty string, got {Describe(items[i])}");
            }
        }

        return result;
    }

    public static IPAddress? ParseIp(YamlNode node, string path, string text, ConfigErrors errors)
    {
        // IPAddress.TryParse accepts "1" or "1.2" as IPv4 shorthand; a config wants the dotted quad.
        if (IPAddress.TryParse(text, out var address) && (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || text.Count(c => c == '.') == 3))
        {
            return address;
        }

        errors.Add(node, $"{path}: invalid IP address '{text}'");
        return null;
    }

    public const string UserInfoNotAllowed = "credentials (user:password@) are not allowed here (inline secret); use a *_file or *_env setting";

    /// <summary><c>scheme://user[:password]@...</c>, whether or not the rest parses: such a value is never echoed.</summary>
    public static bool HasUserInfo(string text)
    {
        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        var authority = scheme < 0 ? text : text[(scheme + 3)..];
        var end = authority.IndexOfAny(['/', '?', '#']);
        return (end < 0 ? authority : authority[..end]).Contains('@', StringComparison.Ordinal);
    }

    /// <summary>
    /// A URI as an error message may quote it: scheme and authority only, since a path, query or fragment may carry a
    /// token (<c>?access_token=</c>) and check-config output ends up in CI logs.
    /// </summary>
    public static string Quotable(string text)
    {
        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        var end = text.IndexOfAny(['/', '?', '#'], scheme < 0 ? 0 : scheme + 3);
        return end < 0 ? text : text[..end] + "/...";
    }

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode scalar && scalar.Style == YamlDotNet.Core.ScalarStyle.Plain
        && (scalar.Value is null || scalar.Value.Length == 0 || scalar.Value == "~" || scalar.Value == "null");

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode scalar => string.Create(CultureInfo.InvariantCulture, $"'{scalar.Value}'"),
        _ => "an unsupported value",
    };
}
