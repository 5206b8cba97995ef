fn main() {
    println!("grader: under construction");
}
