import UpshiftCommands

@main
struct UpshiftMain {
    static func main() async {
        await Upshift.main()
    }
}
