import FlockTestSupport
import Foundation

/// A report opened in Debian's headless Chromium: the DOM after the page's script ran, and
/// a screenshot whose chart regions are checked for drawn data.
struct BrowserPage {
    let dom: String
    /// Each chart's plot area in page pixels, as the page's script recorded it.
    let plotAreas: [[Int]]
    let screenshot: URL

    /// For each plot area of the screenshot, how many of its pixel columns hold a pixel
    /// drawn in colour (not white, grey or black: max − min channel > 60). The frame and
    /// grid lines are grey; a vertical marker (a checkpoint, an early stop) is a few columns
    /// wide; a data series spreads across the chart.
    func colouredColumnsPerChart() throws -> [Int] {
        let script = screenshot.deletingLastPathComponent().appendingPathComponent("count_pixels.py")
        try HeadlessChromium.pixelCounter.write(to: script, atomically: true, encoding: .utf8)
        let areas = plotAreas.map { $0.map(String.init).joined(separator: ",") }
        let outcome = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, screenshot.path] + areas, timeout: 120)
        guard outcome.status == 0 else { throw TestFailure("pixel count failed: \(outcome.output)") }
        return outcome.standardOutput.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
    }

    /// How often `text` occurs in the DOM.
    func count(_ text: String) -> Int { dom.components(separatedBy: text).count - 1 }
}

enum HeadlessChromium {
    static let executable: URL? = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .map(URL.init(fileURLWithPath:)).first { FileManager.default.isExecutableFile(atPath: $0.path) }

    static let width = 1300

    static func arguments(profile: URL, height: Int) -> [String] {
        ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-dev-shm-usage",
         "--force-device-scale-factor=1", "--user-data-dir=\(profile.path)", "--window-size=\(width),\(height)"]
    }

    /// Loads `page` (a file) once for its DOM, then screenshots it tall enough to hold every chart.
    static func open(_ page: URL) throws -> BrowserPage {
        guard let executable else {
            throw TestFailure("Debian's chromium is not installed (cluster/setup.sh installs it; apt-get install chromium)")
        }
        let folder = page.deletingLastPathComponent()
        let profile = folder.appendingPathComponent("chromium-profile")
        let dump = try ChildProcess.run(executable, arguments(profile: profile, height: 2000) + ["--dump-dom", page.absoluteString], timeout: 90)
        guard dump.status == 0, dump.standardOutput.contains("</html>") else {
            throw TestFailure("chromium --dump-dom failed (status \(dump.status), timed out: \(dump.timedOut)): \(dump.standardError.suffix(2000))")
        }
        let areas = plotAreas(dump.standardOutput)
        let height = max(400, (areas.map { $0[1] + $0[3] }.max() ?? 0) + 40)
        let screenshot = folder.appendingPathComponent(page.deletingPathExtension().lastPathComponent + ".png")
        let shot = try ChildProcess.run(executable, arguments(profile: profile, height: height)
                                        + ["--screenshot=\(screenshot.path)", page.absoluteString], timeout: 90)
        guard shot.status == 0, FileManager.default.fileExists(atPath: screenshot.path) else {
            throw TestFailure("chromium --screenshot failed (status \(shot.status)): \(shot.standardError.suffix(2000))")
        }
        return BrowserPage(dom: dump.standardOutput, plotAreas: areas, screenshot: screenshot)
    }

    /// `data-plot-rect="x,y,w,h"` of every chart, in document order.
    static func plotAreas(_ dom: String) -> [[Int]] {
        dom.components(separatedBy: "data-plot-rect=\"").dropFirst().compactMap { part in
            let numbers = part.prefix { $0 != "\"" }.split(separator: ",").compactMap { Int($0) }
            return numbers.count == 4 ? numbers : nil
        }
    }

    /// Decodes an 8-bit RGB/RGBA PNG with the standard library's zlib and counts, per
    /// rectangle `x,y,w,h`, the columns with a pixel whose channels differ by more than 60.
    static let pixelCounter = #"""
        import struct, sys, zlib

        def rows(path, last_row):
            data = open(path, 'rb').read()
            assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
            pos, idat = 8, b''
            while pos < len(data):
                length, kind = struct.unpack('>I4s', data[pos:pos + 8])
                body = data[pos + 8:pos + 8 + length]
                if kind == b'IHDR':
                    width, height, depth, colour, _, _, interlace = struct.unpack('>IIBBBBB', body)
                    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
                elif kind == b'IDAT':
                    idat += body
                pos += 12 + length
            raw = zlib.decompress(idat)
            bpp = 4 if colour == 6 else 3
            stride = width * bpp
            previous = bytearray(stride)
            result = []
            for y in range(min(height, last_row + 1)):
                start = y * (stride + 1)
                kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
                if kind == 1:
                    for i in range(bpp, stride): line[i] = (line[i] + line[i - bpp]) & 255
                elif kind == 2:
                    line = bytearray((a + b) & 255 for a, b in zip(line, previous))
                elif kind == 3:
                    for i in range(stride):
                        left = line[i - bpp] if i >= bpp else 0
                        line[i] = (line[i] + ((left + previous[i]) >> 1)) & 255
                elif kind == 4:
                    for i in range(stride):
                        a = line[i - bpp] if i >= bpp else 0
                        b = previous[i]
                        c = previous[i - bpp] if i >= bpp else 0
                        p = a + b - c
                        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                        line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
                result.append(line)
                previous = line
            return result, bpp

        rects = [tuple(int(v) for v in arg.split(',')) for arg in sys.argv[2:]]
        image, bpp = rows(sys.argv[1], max([y + h for x, y, w, h in rects] + [0]))
        counts = []
        for x, y, w, h in rects:
            columns = set()
            for row in image[y:y + h]:
                for column in range(x, x + w):
                    i = column * bpp
                    r, g, b = row[i], row[i + 1], row[i + 2]
                    if max(r, g, b) - min(r, g, b) > 60: columns.add(column)
            counts.append(len(columns))
        print(' '.join(str(c) for c in counts))
        """#
}
