fn main() {
    cedar_ext_postgresql::link();
}
